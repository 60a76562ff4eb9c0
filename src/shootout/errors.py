"""One small exception hierarchy. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations

from typing import Any


class ShootoutError(Exception):
    """Base class: an error the user can act on, shown as one line."""

    exit_code = 1


class ConfigError(ShootoutError):
    """Bad configuration file, CLI value or price table."""

    exit_code = 2


class UnknownBenchmarkError(ConfigError):
    pass


class UnknownModelError(ConfigError):
    pass


class DataError(ShootoutError):
    """Benchmark data missing or malformed."""

    exit_code = 3


class ChangedDataError(DataError):
    """A data file is not the one the run read (its manifest's sha256): it stops the run, a
    rescore, an export's gold column, wherever it is read."""


class ProviderError(ShootoutError):
    """A model backend failed in a way that is not worth retrying.

    `http_status`: the HTTP status of the response it was made from (set where one is: an
    error event inside a 200 stream has none, whatever its text says)."""

    exit_code = 4
    http_status: int | None = None


class RetryableProviderError(ProviderError):
    """A transient backend failure (429, 5xx, timeout, dropped stream): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedRequestError(ProviderError):
    """The endpoint refused the request as sent (HTTP 4xx, not worth retrying as it is).

    `param` and `code` are the error body's own fields where it has them (OpenAI:
    `{"error": {"param": "max_tokens", "code": "unsupported_parameter", ...}}`), so a
    provider can learn to send the request differently.
    """

    def __init__(
        self, message: str, status: int, param: str | None = None, code: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
        self.detail = detail


class EndpointUnreachableError(ProviderError):
    pass


class CapabilityError(ProviderError):
    """The backend cannot do what was asked (e.g. loglikelihood on a chat-only API)."""


class PartialResultsError(ShootoutError):
    """The run finished, but some samples failed after every retry."""

    exit_code = 1


def not_utf8(path: object, e: UnicodeDecodeError) -> ConfigError:
    """The one line for a text file that is not UTF-8 (`path: not UTF-8 text (...)`)."""
    return ConfigError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset "
                       f"{e.start}); save it as UTF-8")


class StoreError(ShootoutError):
    exit_code = 5


class SandboxError(ShootoutError):
    """The sandbox for model-written code is unavailable or misconfigured."""

    exit_code = 6


class BudgetError(ShootoutError):
    """A cost cap (`--max-cost`) refused a run or stopped it; the run resumes under a higher
    cap (docs/budget.md)."""

    exit_code = 7


def why_not_made(path: Any, e: OSError) -> str:
    """Why a file could not be made at `path`: a folder on its way that is a file, named
    (mkdir's "File exists", or "Not a directory", names neither), else the system's reason."""
    import os
    from pathlib import Path

    file = next((p for p in Path(path).parents if os.path.isfile(p)), None)  # never raises
    return f"{file} is a file, not a folder" if file is not None else (e.strerror or str(e))


def cannot_write(path: Any, e: OSError) -> ConfigError:
    """The one-line error for an output that could not be written."""
    return ConfigError(f"cannot write {path}: {why_not_made(path, e)}")
