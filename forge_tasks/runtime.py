"""Re-read settings after the environment changed, in a process that already imported them.

The demo and the tests change ``FORGE_*`` variables at run time. The cached
settings, the Celery configuration, the store engine and the GatewayForge
client must then be rebuilt.
"""

from __future__ import annotations

from forge_tasks.celery_app import app, build_config
from forge_tasks.gatewayforge.client import reset_client
from forge_tasks.settings import get_settings
from forge_tasks.store.engine import reset_engine


def ensure_state_dir() -> None:
    """Create the folder of the embedded broker's and result backend's files."""
    settings = get_settings()
    if settings.is_embedded:
        settings.state_dir.mkdir(parents=True, exist_ok=True)


def reload_settings() -> None:
    get_settings.cache_clear()
    ensure_state_dir()
    app.conf.update(build_config(get_settings()))
    # A new broker URL needs a new connection pool and a new result backend. The
    # old pool is left to the garbage collector: kombu's global producer pools
    # may still refer to it, and closing it would break them.
    app._pool = None
    app.amqp._producer_pool = None
    app._backend = app._get_backend()
    reset_engine()
    reset_client()
