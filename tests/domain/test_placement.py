"""Tests of replacement regions, the next-best provider and pair plans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.pairs import PairConfig
from forge_tasks.domain.placement import (
    Conditions,
    PlanCheck,
    choose_next_best_provider,
    choose_replacement_region,
    plan_pair,
)
from forge_tasks.gatewayforge.models import Provider, Role, Tier

H, V, D, C = (
    Provider.HETZNER,
    Provider.VULTR,
    Provider.DIGITALOCEAN,
    Provider.CONTABO,
)
BuildConditions = Callable[..., Conditions]
VULTR_EUROPE = ["ams", "cdg", "fra", "lhr", "mad", "man", "sto", "waw"]


def _vultr_outside_europe(catalogue: Catalogue) -> list[str]:
    return [r.id for r in catalogue.regions_of(V) if r.continent != "Europe"]


# Replacement regions.


VULTR_US_BUT_EWR = ["atl", "dfw", "lax", "mia", "ord", "sea", "sjc", "hnl"]


@pytest.mark.parametrize(
    ("current", "incidents", "expected", "rejected"),
    [
        ("lhr", [], "man", []),
        ("lhr", ["man"], "ams", ["man"]),
        ("lhr", ["man", "ams"], "cdg", ["man", "ams"]),
        (
            "lhr",
            VULTR_EUROPE,
            "atl",
            ["man", "ams", "cdg", "fra", "mad", "sto", "waw"],
        ),
        ("ewr", VULTR_US_BUT_EWR, "yto", VULTR_US_BUT_EWR),
        ("fra", [], "ams", []),
    ],
    ids=[
        "same-country-before-catalogue-order",
        "then-same-continent-in-catalogue-order",
        "skips-regions-under-incident",
        "then-elsewhere",
        "same-continent-after-same-country",
        "same-continent-when-country-has-one-region",
    ],
)
def test_replacement_region_order(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    current: str,
    incidents: list[str],
    expected: str,
    rejected: list[str],
) -> None:
    conditions = make_conditions(region_incidents={V: incidents})

    decision = choose_replacement_region(
        catalogue.get(V, current), Role.PRIMARY, Tier.STANDARD, conditions, catalogue
    )

    assert decision.choice is not None
    assert decision.choice.id == expected
    assert [r.candidate for r in decision.rejections] == [
        f"vultr/{region_id}" for region_id in rejected
    ]


def test_replacement_skips_excluded_keys(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    decision = choose_replacement_region(
        catalogue.get(V, "lhr"),
        Role.PRIMARY,
        Tier.STANDARD,
        make_conditions(),
        catalogue,
        exclude=frozenset({"vultr/man", "vultr/ams"}),
    )

    assert decision.choice is not None
    assert decision.choice.key == "vultr/cdg"


def test_replacement_none_lists_every_reason(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    regions = [r.id for r in catalogue.regions_of(H)]
    conditions = make_conditions(region_incidents={H: regions})

    decision = choose_replacement_region(
        catalogue.get(H, "nbg1"), Role.PRIMARY, Tier.STANDARD, conditions, catalogue
    )

    assert decision.choice is None
    assert len(decision.rejections) == len(regions) - 1
    assert all("active incident" in reason for reason in decision.reasons())


def test_standby_replacement_skips_primarys_city(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions(region_incidents={V: ["cdg"]})

    decision = choose_replacement_region(
        catalogue.get(V, "cdg"),
        Role.STANDBY,
        Tier.STANDARD,
        conditions,
        catalogue,
        primary=catalogue.get(D, "ams3"),
    )

    assert decision.choice is not None
    assert decision.choice.key == "vultr/fra"
    assert decision.rejections[0].candidate == "vultr/ams"
    assert "primary's city" in decision.rejections[0].reasons[0]


@pytest.mark.parametrize(
    ("tier", "outside_europe_down", "expected"),
    [
        (Tier.ENTERPRISE, False, "atl"),
        (Tier.ENTERPRISE, True, "cdg"),
        (Tier.STANDARD, False, "cdg"),
        (Tier.BUDGET, False, "cdg"),
    ],
    ids=[
        "enterprise-other-continent-first",
        "enterprise-falls-back-to-own-continent",
        "standard-same-continent",
        "budget-same-continent",
    ],
)
def test_standby_replacement_continent_preference(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    tier: Tier,
    outside_europe_down: bool,
    expected: str,
) -> None:
    down = ["ams"]
    if outside_europe_down:
        down += _vultr_outside_europe(catalogue)
    conditions = make_conditions(region_incidents={V: down})

    decision = choose_replacement_region(
        catalogue.get(V, "ams"),
        Role.STANDBY,
        tier,
        conditions,
        catalogue,
        primary=catalogue.get(H, "nbg1"),
    )

    assert decision.choice is not None
    assert decision.choice.id == expected


# The next-best provider.


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({D: {"health_score": 90}, C: {"health_score": 85}}, "digitalocean/ams2"),
        ({D: {"health_score": 85}, C: {"health_score": 90}}, "contabo/EU"),
        (
            {D: {"success_rate_percent": 97.0}, C: {"success_rate_percent": 99.0}},
            "contabo/EU",
        ),
        (
            {D: {"avg_provision_time_s": 400.0}, C: {"avg_provision_time_s": 300.0}},
            "contabo/EU",
        ),
        ({}, "digitalocean/ams2"),
        ({D: {"health_score": 74}, C: {"health_score": 75}}, "contabo/EU"),
    ],
    ids=[
        "highest-score",
        "highest-score-other-way",
        "score-tie-then-success-rate",
        "score-and-success-tie-then-average-time",
        "full-tie-then-catalogue-order",
        "provider-below-threshold-skipped",
    ],
)
def test_next_best_provider_ordering(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    figures: dict[Provider, dict[str, Any]],
    expected: str,
) -> None:
    conditions = make_conditions(figures, provider_incidents=[V])

    decision = choose_next_best_provider(
        Role.PRIMARY,
        catalogue.get(V, "ams"),
        Tier.STANDARD,
        conditions,
        catalogue,
        exclude_providers=frozenset({H}),
    )

    assert decision.choice is not None
    assert decision.choice.key == expected


def test_next_best_tries_next_provider_without_region(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    do_regions = [r.id for r in catalogue.regions_of(D)]
    conditions = make_conditions(
        {D: {"health_score": 99}}, region_incidents={D: do_regions}
    )

    decision = choose_next_best_provider(
        Role.PRIMARY,
        catalogue.get(V, "ams"),
        Tier.STANDARD,
        conditions,
        catalogue,
        exclude_providers=frozenset({H}),
    )

    assert decision.choice is not None
    assert decision.choice.key == "contabo/EU"
    assert len(decision.rejections) == len(do_regions)


def test_next_best_none_when_no_provider_fits(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions({D: {"health_score": 10}}, unreadable=[C])

    decision = choose_next_best_provider(
        Role.PRIMARY,
        catalogue.get(V, "ams"),
        Tier.STANDARD,
        conditions,
        catalogue,
        exclude_providers=frozenset({H}),
    )

    assert decision.choice is None
    assert [r.candidate for r in decision.rejections] == ["digitalocean", "contabo"]


def test_next_best_standby_avoids_primarys_provider(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions({H: {"health_score": 100}}, provider_incidents=[V])

    decision = choose_next_best_provider(
        Role.STANDBY,
        catalogue.get(V, "ams"),
        Tier.STANDARD,
        conditions,
        catalogue,
        primary=catalogue.get(H, "nbg1"),
    )

    assert decision.choice is not None
    assert decision.choice.key == "digitalocean/ams2"
    assert decision.rejections[0].candidate == "hetzner"


def test_next_best_enterprise_standby_other_continent(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions(provider_incidents=[V])

    decision = choose_next_best_provider(
        Role.STANDBY,
        catalogue.get(V, "ams"),
        Tier.ENTERPRISE,
        conditions,
        catalogue,
        primary=catalogue.get(H, "nbg1"),
    )

    assert decision.choice is not None
    assert decision.choice.key == "digitalocean/nyc1"


# Pair plans.


def test_healthy_pairs_keep_their_defaults(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    pairs: dict[str, PairConfig],
) -> None:
    for pair in pairs.values():
        plan = plan_pair(pair, Tier.STANDARD, make_conditions(), catalogue)

        assert plan.ok
        assert plan.primary == pair.primary
        assert plan.standby == pair.standby
        assert plan.notes == ()


@pytest.mark.parametrize(
    ("pair_name", "arguments", "primary", "standby", "note"),
    [
        (
            "eu-default",
            {"region_incidents": {H: ["nbg1"]}},
            "hetzner/fsn1",
            "vultr/ams",
            "primary: moved from hetzner/nbg1 to hetzner/fsn1",
        ),
        (
            "eu-default",
            {"figures": {H: {"health_score": 60}}, "provider_incidents": [H]},
            "digitalocean/fra1",
            "vultr/ams",
            "primary: switched from hetzner/nbg1 to digitalocean/fra1",
        ),
        (
            "eu-default",
            {"provider_incidents": [H]},
            "digitalocean/fra1",
            "vultr/ams",
            "next-best provider",
        ),
        (
            "eu-default",
            {"region_incidents": {V: ["ams"]}},
            "hetzner/nbg1",
            "vultr/cdg",
            "standby: moved from vultr/ams to vultr/cdg",
        ),
        (
            "eu-default",
            {"figures": {V: {"health_score": 50}}, "provider_incidents": [V]},
            "hetzner/nbg1",
            "digitalocean/ams2",
            "standby: switched from vultr/ams to digitalocean/ams2",
        ),
        (
            "budget-eu",
            {"region_incidents": {H: ["fsn1"]}},
            "contabo/EU",
            "hetzner/hel1",
            "may be in the primary's city",
        ),
    ],
    ids=[
        "primary-region-incident-moves-region",
        "primary-provider-incident-switches-provider",
        "provider-incident-alone-switches-provider",
        "standby-region-incident-moves-region",
        "standby-provider-incident-switches-provider",
        "standby-replacement-skips-candidate-city",
    ],
)
def test_plan_moves_with_recorded_reason(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    pairs: dict[str, PairConfig],
    pair_name: str,
    arguments: dict[str, Any],
    primary: str,
    standby: str,
    note: str,
) -> None:
    figures = arguments.pop("figures", None)
    conditions = make_conditions(figures, **arguments)

    plan = plan_pair(pairs[pair_name], Tier.STANDARD, conditions, catalogue)

    assert plan.ok, plan.problems
    assert plan.primary is not None
    assert plan.primary.key == primary
    assert plan.standby is not None
    assert plan.standby.key == standby
    assert any(note in n for n in plan.notes), plan.notes


@pytest.mark.parametrize(
    ("arguments", "check", "message"),
    [
        (
            {"figures": {H: {"health_score": 74}}},
            PlanCheck.PROVIDER_HEALTH,
            "health score 74 is below 75",
        ),
        (
            {"figures": {H: {"avg_provision_time_s": 600.0}}},
            PlanCheck.PROVIDER_HEALTH,
            "not under 600 s",
        ),
        ({"missing": [H]}, PlanCheck.PROVIDER_HEALTH, "missing"),
        ({"unreadable": [H]}, PlanCheck.REGION_AVAILABILITY, "unreadable"),
        (
            {"region_incidents": {H: ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]}},
            PlanCheck.REGION_AVAILABILITY,
            "no other hetzner region fits",
        ),
        (
            {
                "provider_incidents": [H],
                "figures": {D: {"health_score": 10}, C: {"health_score": 10}},
            },
            PlanCheck.PROVIDER_HEALTH,
            "no other provider meets the rules",
        ),
    ],
    ids=[
        "below-threshold-without-incident",
        "average-ten-minutes",
        "provider-missing",
        "unreadable-feed",
        "every-region-under-incident",
        "provider-incident-without-alternative",
    ],
)
def test_plan_problem_for_primary(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    pairs: dict[str, PairConfig],
    arguments: dict[str, Any],
    check: PlanCheck,
    message: str,
) -> None:
    figures = arguments.pop("figures", None)
    conditions = make_conditions(figures, **arguments)

    plan = plan_pair(pairs["eu-default"], Tier.STANDARD, conditions, catalogue)

    assert not plan.ok
    assert plan.primary is None
    assert [p.role for p in plan.problems] == [Role.PRIMARY]
    assert plan.problems[0].check == check
    assert message in plan.problems[0].message


def test_plan_reports_both_roles_at_once(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    pairs: dict[str, PairConfig],
) -> None:
    conditions = make_conditions({H: {"health_score": 70}, V: {"health_score": 70}})

    plan = plan_pair(pairs["eu-default"], Tier.STANDARD, conditions, catalogue)

    assert [p.role for p in plan.problems] == [Role.PRIMARY, Role.STANDBY]
    assert plan.primary is None
    assert plan.standby is None


@pytest.mark.parametrize(
    ("pair_name", "outside_down", "standby"),
    [
        ("eu-default", False, "vultr/atl"),
        ("eu-default", True, "vultr/ams"),
        ("us", False, "digitalocean/ams2"),
        ("budget-eu", False, "hetzner/ash"),
    ],
    ids=[
        "eu-moves-to-other-continent",
        "eu-stays-without-healthy-other-continent",
        "us-moves-to-europe",
        "budget-eu-moves-to-america",
    ],
)
def test_enterprise_standby_prefers_other_continent(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    pairs: dict[str, PairConfig],
    pair_name: str,
    outside_down: bool,
    standby: str,
) -> None:
    down = _vultr_outside_europe(catalogue) if outside_down else []
    conditions = make_conditions(region_incidents={V: down})

    plan = plan_pair(pairs[pair_name], Tier.ENTERPRISE, conditions, catalogue)

    assert plan.ok
    assert plan.primary == pairs[pair_name].primary
    assert plan.standby is not None
    assert plan.standby.key == standby
    moved = plan.standby != pairs[pair_name].standby
    assert any("enterprise" in note for note in plan.notes) is moved
