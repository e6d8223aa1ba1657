"""Tests of the default pairs, the price table and the cost estimate."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.pairs import PairConfig, load_pairs
from forge_tasks.domain.pricing import (
    PairPlacement,
    PriceTable,
    estimate_monthly_cost_eur,
    load_prices,
)
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider, Tier

H, V, D, C = (
    Provider.HETZNER,
    Provider.VULTR,
    Provider.DIGITALOCEAN,
    Provider.CONTABO,
)


@pytest.mark.parametrize(
    ("name", "primary", "standby"),
    [
        ("eu-default", "hetzner/nbg1", "vultr/ams"),
        ("eu-redundancy", "hetzner/hel1", "vultr/ams"),
        ("us", "vultr/ewr", "digitalocean/nyc3"),
        ("budget-eu", "contabo/EU", "hetzner/fsn1"),
    ],
    ids=["eu-default", "eu-redundancy", "us", "budget-eu"],
)
def test_default_pairs_match_the_runbook(
    pairs: dict[str, PairConfig], name: str, primary: str, standby: str
) -> None:
    assert pairs[name].primary.key == primary
    assert pairs[name].standby.key == standby


def test_default_pairs_keep_file_order(pairs: dict[str, PairConfig]) -> None:
    assert list(pairs) == ["eu-default", "eu-redundancy", "us", "budget-eu"]


def _pair(
    name: str, primary: tuple[str, str], standby: tuple[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "primary": {"provider": primary[0], "region": primary[1]},
        "standby": {"provider": standby[0], "region": standby[1]},
    }


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([_pair("x", ("hetzner", "zzz"), ("vultr", "ams"))], "hetzner/zzz"),
        ([_pair("x", ("hetzner", "nbg1"), ("hetzner", "hel1"))], "one provider"),
        ([_pair("x", ("contabo", "EU"), ("hetzner", "nbg1"))], "one city"),
        ([_pair("x", ("vultr", "ams"), ("digitalocean", "ams3"))], "one city"),
        (
            [
                _pair("x", ("hetzner", "nbg1"), ("vultr", "ams")),
                _pair("x", ("hetzner", "hel1"), ("vultr", "ams")),
            ],
            "listed twice",
        ),
        ([{"name": "x"}], "invalid pair"),
    ],
    ids=[
        "unknown-region",
        "same-provider",
        "unknown-city-may-match",
        "same-city",
        "duplicate-name",
        "missing-regions",
    ],
)
def test_load_pairs_rejects_invalid_pair(
    catalogue: Catalogue, tmp_path: Path, entries: list[object], message: str
) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps({"pairs": entries}), encoding="utf-8")

    with pytest.raises(ConfigurationError, match=message):
        load_pairs(catalogue, path)


def test_prices_cover_every_tier_and_provider(prices: PriceTable) -> None:
    for tier in Tier:
        for provider in Provider:
            assert prices.instance_price_eur(tier, provider) > 0


def test_prices_keep_exact_decimals(prices: PriceTable) -> None:
    assert prices.instance_price_eur(Tier.BUDGET, H) == Decimal("4.5")
    assert prices.instance_price_eur(Tier.ENTERPRISE, V) == Decimal(40)


@pytest.mark.parametrize(
    ("placements", "expected"),
    [
        ([], Decimal(0)),
        ([PairPlacement(Tier.BUDGET, H, V)], Decimal("10.5")),
        ([PairPlacement(Tier.BUDGET, C, H)], Decimal("9.5")),
        (
            [PairPlacement(Tier.STANDARD, V, D), PairPlacement(Tier.ENTERPRISE, H, V)],
            Decimal(94),
        ),
        ([PairPlacement(Tier.STANDARD, C, H)] * 3, Decimal("52.5")),
    ],
    ids=["empty", "budget-eu-default", "budget-eu", "mixed-tiers", "three-accounts"],
)
def test_estimate_sums_primary_and_standby(
    prices: PriceTable, placements: list[PairPlacement], expected: Decimal
) -> None:
    assert estimate_monthly_cost_eur(placements, prices) == expected


def _full_table(value: object) -> dict[str, dict[str, object]]:
    return {tier.value: {p.value: value for p in Provider} for tier in Tier}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"currency": "USD", "monthly_price_per_instance": _full_table(1)}, "EUR"),
        ({"currency": "EUR"}, "monthly_price_per_instance"),
        ({"currency": "EUR", "monthly_price_per_instance": {}}, "missing or invalid"),
        (
            {"currency": "EUR", "monthly_price_per_instance": _full_table(-1)},
            "negative",
        ),
        (
            {"currency": "EUR", "monthly_price_per_instance": _full_table("5")},
            "missing or invalid",
        ),
    ],
    ids=["wrong-currency", "no-table", "missing-price", "negative", "string-price"],
)
def test_load_prices_rejects_invalid_file(
    tmp_path: Path, document: object, message: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ConfigurationError, match=message):
        load_prices(path)
