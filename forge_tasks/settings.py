"""Settings of forge-tasks, read from ``FORGE_*`` environment variables.

Defaults give the embedded mode: a SQLite store file and a SQLite-backed broker
and result backend (kombu's SQLAlchemy transport), so that nothing but Python
is needed. Set ``FORGE_BROKER_URL`` (and ``FORGE_DATABASE_URL``) for Redis and
PostgreSQL.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from forge_tasks.errors import ConfigurationError

PLACEHOLDER_SECRET = "change-me"
DEFAULT_STATE_DIR = Path(".forge")


class Settings(BaseSettings):
    """All forge-tasks settings; every field is read from ``FORGE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FORGE_", extra="ignore")

    # Where state lives.
    state_dir: Path = DEFAULT_STATE_DIR
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""

    # GatewayForge and the services it talks to.
    gatewayforge_url: str = "http://127.0.0.1:8790"
    gatewayforge_api_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    gatewayforge_timeout_s: float = Field(default=10.0, gt=0)
    companion_url: str = "http://127.0.0.1:8790/companion/webhooks"
    companion_secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    commander_url: str = "http://127.0.0.1:8790/commander/notifications"

    # Runbook timings, in real (uncompressed) seconds.
    poll_interval_s: float = Field(default=60.0, gt=0)
    provision_timeout_s: float = Field(default=15 * 60.0, gt=0)
    time_scale: float = Field(default=1.0, gt=0)

    # Runbook thresholds.
    instance_health_threshold: int = Field(default=70, ge=0, le=100)
    batch_concurrency: int = Field(default=5, ge=1)
    batch_failure_threshold_percent: float = Field(default=20.0, ge=0, le=100)

    # Broker: seconds before Redis re-delivers an unacknowledged message, such as
    # one held by a worker that was killed. 0 keeps the default of 600 s
    # (celery_app.DEFAULT_VISIBILITY_TIMEOUT_S). It must stay above the longest
    # countdown, 300 s divided by the time scale, or long countdown tasks are
    # delivered twice.
    visibility_timeout_s: int = Field(default=0, ge=0)

    # Set by `forge-tasks demo` only: allows the placeholder secrets above.
    embedded_demo: bool = False

    @field_validator("gatewayforge_url", "companion_url", "commander_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        return (
            self.database_url or f"sqlite:///{(self.state_dir / 'store.db').resolve()}"
        )

    @property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"forge-sqla+sqlite:///{(self.state_dir / 'broker.db').resolve()}"

    @property
    def resolved_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return f"db+sqlite:///{(self.state_dir / 'results.db').resolve()}"

    @property
    def is_embedded(self) -> bool:
        return not self.broker_url

    def scaled(self, seconds: float) -> float:
        """Convert a runbook duration in real seconds to wall-clock seconds."""
        return seconds / self.time_scale

    def require_real_secrets(self) -> None:
        """Raise ConfigurationError when a placeholder secret is used outside the demo."""
        if self.embedded_demo:
            return
        placeholders = [
            name
            for name in ("gatewayforge_api_key", "companion_secret")
            if getattr(self, name).get_secret_value() == PLACEHOLDER_SECRET
        ]
        if placeholders:
            variables = ", ".join(f"FORGE_{name.upper()}" for name in placeholders)
            hint = ""
            if "companion_secret" in placeholders:
                hint = (
                    " The COMPANION secret has the form whsec_<base64 of 24-64 random "
                    "bytes>; python -c 'from forge_tasks.webhooks import "
                    "generate_secret; print(generate_secret())' makes one."
                )
            raise ConfigurationError(
                f"placeholder value {PLACEHOLDER_SECRET!r} in {variables}: set the "
                f"real secret.{hint} Only `forge-tasks demo` runs with generated "
                "secrets."
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's settings, read once from the environment."""
    return Settings()
