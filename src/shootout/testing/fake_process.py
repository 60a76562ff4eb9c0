"""A FakeOpenAIServer in its own process (`python -m shootout.testing.fake_server`), so that
its CPU time and the GIL are not the client's under test."""

from __future__ import annotations

import subprocess
import sys


class FakeServerProcess:
    """A FakeOpenAIServer (`anthropic`: a FakeAnthropicServer) in a subprocess, so that its
    CPU time and the GIL are not the client's:
    `with FakeServerProcess(ttft=0.05, itl=0.02) as srv: srv.base_url`."""

    def __init__(
        self,
        ttft: float = 0.0,
        itl: float = 0.0,
        n_chunks: int = 4,
        fill_max_tokens: bool = True,
        timing_log: str | None = None,
        anthropic: bool = False,
    ) -> None:
        self.args = [
            sys.executable, "-c", "from shootout.testing.fake_server import main; main()",
            "--ttft", str(ttft), "--itl", str(itl), "--n-chunks", str(n_chunks),
        ] + (["--fill-max-tokens"] if fill_max_tokens else [])
        if timing_log:
            self.args += ["--timing-log", timing_log]
        if anthropic:  # Anthropic's Messages API (FakeAnthropicServer)
            self.args.append("--anthropic")
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> FakeServerProcess:
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.__exit__()
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
