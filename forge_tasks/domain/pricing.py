"""Monthly instance prices per tier and provider, and the cost estimate of a batch.

The prices in ``config/prices.json`` are invented estimates, not provider quotes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from forge_tasks.domain.catalogue import config_dir, read_json_config
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider, Tier

PRICES_FILE_NAME = "prices.json"
PRICE_CURRENCY = "EUR"


@dataclass(frozen=True)
class PriceTable:
    """Monthly price in EUR of one instance, for every tier and provider."""

    monthly_eur: Mapping[tuple[Tier, Provider], Decimal]

    def instance_price_eur(self, tier: Tier, provider: Provider) -> Decimal:
        return self.monthly_eur[(tier, provider)]


@dataclass(frozen=True)
class PairPlacement:
    """The providers that one account's primary and standby run on, and its tier."""

    tier: Tier
    primary_provider: Provider
    standby_provider: Provider


def estimate_monthly_cost_eur(
    placements: Iterable[PairPlacement], prices: PriceTable
) -> Decimal:
    """Sum the monthly price of every primary and standby instance, in EUR."""
    total = Decimal(0)
    for placement in placements:
        total += prices.instance_price_eur(placement.tier, placement.primary_provider)
        total += prices.instance_price_eur(placement.tier, placement.standby_provider)
    return total


def load_prices(path: Path | None = None) -> PriceTable:
    """Load the price table, by default ``config/prices.json``.

    Raises ConfigurationError unless every tier and provider has a non-negative
    price in EUR.
    """
    path = path or config_dir() / PRICES_FILE_NAME
    document = read_json_config(path)
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path}: expected a JSON object")
    if document.get("currency") != PRICE_CURRENCY:
        raise ConfigurationError(
            f"{path}: currency must be {PRICE_CURRENCY!r}, "
            f"not {document.get('currency')!r}"
        )
    table = document.get("monthly_price_per_instance")
    if not isinstance(table, dict):
        raise ConfigurationError(
            f"{path}: expected a 'monthly_price_per_instance' object"
        )
    return PriceTable(
        {
            (tier, provider): _read_price(path, table, tier, provider)
            for tier in Tier
            for provider in Provider
        }
    )


def _read_price(
    path: Path, table: dict[str, object], tier: Tier, provider: Provider
) -> Decimal:
    tier_prices = table.get(tier.value)
    price = tier_prices.get(provider.value) if isinstance(tier_prices, dict) else None
    if isinstance(price, bool) or not isinstance(price, int | Decimal):
        raise ConfigurationError(
            f"{path}: missing or invalid price for tier {tier}, provider {provider}: "
            f"{price!r}"
        )
    if price < 0:
        raise ConfigurationError(
            f"{path}: price for tier {tier}, provider {provider} is negative: {price}"
        )
    return Decimal(price)
