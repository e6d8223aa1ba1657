"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled faster.

kombu's SQLAlchemy transport polls its table once a second and passes every
transport option to ``create_engine``, so the interval cannot be set through
``broker_transport_options``. This subclass polls more often, and
``register`` makes it available as the ``forge-sqla+sqlite:///…`` broker URL.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

SCHEME = "forge-sqla"
POLLING_INTERVAL_S = 0.1


class Transport(SQLAlchemyTransport):  # type: ignore[misc,unused-ignore]
    polling_interval = POLLING_INTERVAL_S


def register() -> None:
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
