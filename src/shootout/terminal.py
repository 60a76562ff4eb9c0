"""Text from outside shootout (a model's answer, a server's error) made safe to print: an
escape sequence in it could clear, recolour or retitle the user's terminal (`\\x1b[2J`,
`\\x1b]0;title\\x07`), and rich passes ESC through. `shown` writes its control characters
as escapes instead."""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, and C1 controls
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """`text` with its control characters written as escapes (\\x1b), not sent to the
    terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
