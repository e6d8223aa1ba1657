"""The runbook's default primary/standby pairs, loaded from ``config/pairs.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from forge_tasks.domain.catalogue import (
    Catalogue,
    Region,
    config_dir,
    may_share_city,
    read_json_config,
)
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider

PAIRS_FILE_NAME = "pairs.json"


@dataclass(frozen=True)
class PairConfig:
    """One named default pair: where the primary and the standby go."""

    name: str
    use_case: str
    primary: Region
    standby: Region


class _Placement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    region: str


class _PairEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    use_case: str = ""
    primary: _Placement
    standby: _Placement


def load_pairs(catalogue: Catalogue, path: Path | None = None) -> dict[str, PairConfig]:
    """Load the default pairs by name, in file order, and validate each one.

    Raises ConfigurationError when a pair names an unknown region, is listed twice,
    or puts primary and standby on one provider or possibly in one city.
    """
    path = path or config_dir() / PAIRS_FILE_NAME
    document = read_json_config(path)
    if not isinstance(document, dict) or not isinstance(document.get("pairs"), list):
        raise ConfigurationError(f"{path}: expected an object with a 'pairs' list")

    pairs: dict[str, PairConfig] = {}
    for entry in document["pairs"]:
        pair = _parse_pair(path, entry, catalogue)
        if pair.name in pairs:
            raise ConfigurationError(f"{path}: pair {pair.name!r} is listed twice")
        pairs[pair.name] = pair
    return pairs


def _parse_pair(path: Path, entry: object, catalogue: Catalogue) -> PairConfig:
    try:
        parsed = _PairEntry.model_validate(entry)
    except ValidationError as exc:
        raise ConfigurationError(f"{path}: invalid pair {entry!r}: {exc}") from exc

    pair = PairConfig(
        name=parsed.name,
        use_case=parsed.use_case,
        primary=catalogue.get(parsed.primary.provider, parsed.primary.region),
        standby=catalogue.get(parsed.standby.provider, parsed.standby.region),
    )
    if pair.primary.provider == pair.standby.provider:
        raise ConfigurationError(
            f"{path}: pair {pair.name!r} puts primary and standby on one provider, "
            f"{pair.primary.provider}"
        )
    if may_share_city(pair.primary, pair.standby):
        raise ConfigurationError(
            f"{path}: pair {pair.name!r} may put primary {pair.primary.key} and "
            f"standby {pair.standby.key} in one city"
        )
    return pair
