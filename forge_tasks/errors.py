"""The exception tree of forge-tasks.

Every error the project raises on purpose derives from ``ForgeError``::

    ForgeError
    ├── ConfigurationError        settings or config/ data are invalid
    ├── InputError                operator input (CSV, CLI arguments, payloads) is invalid
    ├── StoreError                the store rejected a change
    │   ├── NotFoundError         a batch, account or instance id is unknown
    │   └── InvalidTransitionError  a state change the state model does not allow
    ├── GatewayForgeError         a GatewayForge call failed
    │   ├── TransientGatewayForgeError   5xx, 429, timeouts, connection errors: retry
    │   └── PermanentGatewayForgeError   other 4xx or a payload that does not parse: do not retry
    ├── PlacementError            no region or provider meets the placement rules
    └── CommanderInstructionError an operator instruction cannot be applied
"""

from __future__ import annotations


class ForgeError(Exception):
    """Root of every error that forge-tasks raises on purpose."""


class ConfigurationError(ForgeError):
    """Raised when settings or the data files in config/ are invalid."""


class InputError(ForgeError):
    """Raised when operator input (a CSV file, CLI arguments, a task payload) is invalid."""


class StoreError(ForgeError):
    """Raised when the store rejects a change."""


class NotFoundError(StoreError):
    """Raised when a batch, account or instance id is not in the store."""


class InvalidTransitionError(StoreError):
    """Raised when a state change is not allowed by the state model."""


class GatewayForgeError(ForgeError):
    """Raised when a GatewayForge call fails; carries the method and URL, never a secret."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status_code = status_code


class TransientGatewayForgeError(GatewayForgeError):
    """Raised on a 5xx, a 429, a timeout or a connection error: the call may succeed later."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code)
        self.retry_after_s = retry_after_s


class PermanentGatewayForgeError(GatewayForgeError):
    """Raised on a 4xx other than 429 or a response that does not parse."""


class PlacementError(ForgeError):
    """Raised when no region or provider meets the placement rules."""


class CommanderInstructionError(ForgeError):
    """Raised when a Commander instruction does not apply to the account's current state."""
