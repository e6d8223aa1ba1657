"""Property tests: no placement puts primary and standby on one provider or city."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forge_tasks.domain.catalogue import (
    Catalogue,
    Region,
    load_catalogue,
    may_share_city,
)
from forge_tasks.domain.feeds import FeedReading, Incident
from forge_tasks.domain.pairs import PairConfig, load_pairs
from forge_tasks.domain.placement import (
    Conditions,
    ProviderConditions,
    choose_next_best_provider,
    choose_replacement_region,
    plan_pair,
    region_rejections,
    standby_rejections,
)
from forge_tasks.gatewayforge.models import Provider, Role, Tier

# Module-level data, because hypothesis runs each example without fixtures.
CATALOGUE: Catalogue = load_catalogue()
PAIRS = load_pairs(CATALOGUE)
REGIONS = list(CATALOGUE)


@st.composite
def provider_conditions(draw: st.DrawFn, provider: Provider) -> ProviderConditions:
    """Draw mostly healthy conditions, so that moves and switches happen often."""
    region_ids = [r.id for r in CATALOGUE.regions_of(provider)]
    if draw(st.integers(0, 9)) == 0:
        down = draw(st.lists(st.sampled_from(region_ids), unique=True))
    else:
        down = draw(st.lists(st.sampled_from(region_ids), unique=True, max_size=3))
    incidents = [
        Incident(provider, "region", region_id, "t", "investigating", region_id)
        for region_id in down
    ]
    if draw(st.integers(0, 5)) == 0:
        incidents.append(Incident(provider, "provider", None, "t", "major", "page"))
    feed = (
        FeedReading.unreadable(provider, "not a JSON object")
        if draw(st.integers(0, 14)) == 0
        else FeedReading(provider, True, None, tuple(incidents))
    )

    healthy = draw(st.integers(0, 4)) > 0
    return ProviderConditions(
        health_score=draw(st.integers(75, 100) if healthy else st.integers(0, 100)),
        success_rate_percent=draw(st.floats(95.0 if healthy else 0.0, 100.0)),
        avg_provision_time_s=draw(st.floats(60.0, 599.0 if healthy else 3600.0)),
        quota_limit=100,
        quota_used=0,
        feed=feed,
    )


@st.composite
def conditions(draw: st.DrawFn) -> Conditions:
    providers: dict[Provider, ProviderConditions] = {}
    for provider in Provider:
        if draw(st.integers(0, 14)) > 0:
            providers[provider] = draw(provider_conditions(provider))
    return Conditions(providers)


@st.composite
def pair_configs(draw: st.DrawFn) -> PairConfig:
    """Draw a default pair or any valid pair of catalogue regions."""
    if draw(st.booleans()):
        return PAIRS[draw(st.sampled_from(sorted(PAIRS)))]
    primary = draw(st.sampled_from(REGIONS))
    standby = draw(
        st.sampled_from(REGIONS).filter(
            lambda region: (
                region.provider != primary.provider
                and not may_share_city(region, primary)
            )
        )
    )
    return PairConfig("drawn", "", primary, standby)


@settings(max_examples=1000, deadline=None)
@given(pair=pair_configs(), tier=st.sampled_from(list(Tier)), state=conditions())
def test_plan_never_shares_provider_or_city(
    pair: PairConfig, tier: Tier, state: Conditions
) -> None:
    plan = plan_pair(pair, tier, state, CATALOGUE)

    if plan.ok:
        assert plan.primary is not None
        assert plan.standby is not None
    if plan.primary is not None and plan.standby is not None:
        assert plan.primary.provider != plan.standby.provider
        assert not may_share_city(plan.primary, plan.standby)
    if plan.primary is not None:
        assert region_rejections(plan.primary, state) == []
    if plan.standby is not None and plan.primary is not None:
        assert standby_rejections(plan.standby, plan.primary, tier, state) == []


@settings(max_examples=300, deadline=None)
@given(
    primary=st.sampled_from(REGIONS),
    current=st.sampled_from(REGIONS),
    tier=st.sampled_from(list(Tier)),
    state=conditions(),
)
def test_standby_never_shares_the_primarys_city(
    primary: Region, current: Region, tier: Tier, state: Conditions
) -> None:
    replacement = choose_replacement_region(
        current, Role.STANDBY, tier, state, CATALOGUE, primary=primary
    )
    switch = choose_next_best_provider(
        Role.STANDBY, current, tier, state, CATALOGUE, primary=primary
    )

    for choice in (replacement.choice, switch.choice):
        if choice is not None:
            assert choice.provider != primary.provider
            assert not may_share_city(choice, primary)
            assert region_rejections(choice, state) == []
