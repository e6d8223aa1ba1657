"""The Celery application, configured from settings.

Workers acknowledge a message only after its task ran (``acks_late``), and a
message whose worker died is delivered again (``reject_on_worker_lost``). So a
SIGKILL loses no step, and every task is written to be safe to run twice.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from forge_tasks import embedded_broker
from forge_tasks.settings import Settings, get_settings

TASK_MODULES = [
    "forge_tasks.tasks.accounts",
    "forge_tasks.tasks.provisioning",
    "forge_tasks.tasks.notifications",
    "forge_tasks.tasks.batches",
    "forge_tasks.tasks.commander",
    "forge_tasks.tasks.intake",
    "forge_tasks.tasks.watchdog",
]

# Redis re-delivers an unacknowledged message after this long, which is how a
# message held by a worker killed with SIGKILL comes back. It must exceed the
# longest countdown a task schedules, because Redis counts a countdown task as
# unacknowledged while it waits in a worker. Otherwise every long countdown would
# be delivered twice. The longest is the 300 s cap on every backoff
# (tasks.common.MAX_BACKOFF_S), divided by the time scale. It should also stay
# well under the 15-minute provision timeout: a poll held by a killed worker
# comes back only after it, and an attempt whose deadline passed meanwhile ends
# timed out.
DEFAULT_VISIBILITY_TIMEOUT_S = 600


def build_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "broker_url": settings.resolved_broker_url,
        "result_backend": settings.resolved_result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": "forge",
        "result_expires": 7 * 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "broker_transport_options": _redis_transport_options(settings),
    }
    if settings.is_embedded:
        # The SQLAlchemy transport hands every transport option to create_engine,
        # which rejects unknown ones; Redis's visibility timeout does not apply.
        config["broker_transport_options"] = {}
        config["result_backend_always_retry"] = True
        # The database backend joins a chord by polling (celery.chord_unlock),
        # once a second by default.
        config["result_chord_retry_interval"] = 0.2
    return config


def _redis_transport_options(settings: Settings) -> dict[str, Any]:
    visibility_timeout_s = settings.visibility_timeout_s or DEFAULT_VISIBILITY_TIMEOUT_S
    return {
        "visibility_timeout": visibility_timeout_s,
        # kombu looks for expired unacknowledged messages every interval times
        # throttle seconds, 10 x 10 by default. Checking every few seconds brings
        # a killed worker's message back soon after its timeout.
        "unacked_restore_interval": max(1, min(10, visibility_timeout_s // 4)),
        "unacked_restore_throttle": 1,
        # A worker killed during a sweep leaves the sweep's lock behind, and no
        # worker restores anything until it expires (300 s by default).
        "unacked_mutex_expire": max(5, min(60, visibility_timeout_s // 4)),
    }


embedded_broker.register()
app = Celery("forge_tasks", include=TASK_MODULES)
app.conf.update(build_config(get_settings()))


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _forget_inherited_connections(**_: Any) -> None:
    """Drop the engine and HTTP session a forked child inherited from its parent."""
    from forge_tasks.gatewayforge.client import reset_client
    from forge_tasks.store.engine import reset_engine

    reset_engine()
    reset_client()
