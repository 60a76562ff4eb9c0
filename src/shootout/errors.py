"""One small exception hierarchy. The CLI turns each into a one-line message and an exit code."""

from __future__ import annotations


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


class ProviderError(ShootoutError):
    """A model backend failed in a way that is not worth retrying."""

    exit_code = 4


class RetryableProviderError(ProviderError):
    """A transient backend failure (429, 5xx, timeout, dropped stream): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EndpointUnreachableError(ProviderError):
    pass


class CapabilityError(ProviderError):
    """The backend cannot do what was asked (e.g. loglikelihood on a chat-only API)."""


class PartialResultsError(ShootoutError):
    """The run finished, but some samples failed after every retry."""

    exit_code = 1


class StoreError(ShootoutError):
    exit_code = 5


class SandboxError(ShootoutError):
    """The sandbox for model-written code is unavailable or misconfigured."""

    exit_code = 6
