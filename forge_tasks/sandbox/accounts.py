"""Generated OpenClaw configurations of sandbox accounts.

The shape is OpenClaw-like (a gateway section with a token, agent defaults,
channels) but is not the full real schema. Every config carries a token that
looks like a live secret at ``SECRET_FIELD_PATH``, so tests can check that
it never reaches task arguments, logs or webhooks.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from forge_tasks.gatewayforge.models import AccountConfig

CONFIG_VERSION = 1
SECRET_FIELD_PATH = ("gateway", "auth", "token")
SECRET_PREFIX = "ocgw_live_"


def account_secret(seed: int, account_id: str) -> str:
    """Return the account's fake gateway token, stable for one seed."""
    digest = hashlib.sha256(f"{seed}:{account_id}:gateway-token".encode()).hexdigest()
    return SECRET_PREFIX + digest[:40]


def account_config(seed: int, account_id: str) -> AccountConfig:
    config: dict[str, Any] = {
        "gateway": {
            "port": 18789,
            "bind": "tailnet",
            "auth": {"mode": "token", "token": account_secret(seed, account_id)},
        },
        "agents": {
            "defaults": {
                "workspace": "/home/openclaw/workspace",
                "model": "anthropic/claude-sonnet-4-5",
            }
        },
        "channels": {"telegram": {"enabled": False}, "slack": {"enabled": False}},
        "meta": {"account_id": account_id},
    }
    return AccountConfig(account_id=account_id, version=CONFIG_VERSION, config=config)


def config_digest(config: dict[str, Any]) -> str:
    """Return a digest of a config, independent of key order."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
