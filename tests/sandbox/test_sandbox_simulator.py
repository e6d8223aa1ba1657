"""The simulator's timeline, faults, idempotency and quota, driven by a fake clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sandbox_helpers import FakeClock, provision_body

from forge_tasks.gatewayforge.models import (
    AuditEventIn,
    BootstrapCause,
    FailureKind,
    PairState,
    ProvisionRequest,
    Role,
)
from forge_tasks.sandbox.instances import ApiError
from forge_tasks.sandbox.scenario import parse_scenario
from forge_tasks.sandbox.simulator import Simulator
from forge_tasks.sandbox.timeline import BOOTSTRAP_CAUSE_REASONS

FIXED_DURATION = {"provision_time_s": [300, 300]}


def request(**kwargs: Any) -> ProvisionRequest:
    return ProvisionRequest.model_validate(provision_body(**kwargs))


def create(simulator: Simulator, key: str = "key-1", **kwargs: Any) -> tuple[str, str]:
    """Provision and return (provision request id, instance id)."""
    response, _ = simulator.provision(request(**kwargs), key)
    return response.provision_request_id, response.instance_id


def status(simulator: Simulator, request_id: str, account_id: str = "acct-1") -> Any:
    return simulator.pair_status(request_id, account_id)


def push(simulator: Simulator, instance_id: str, account_id: str = "acct-1") -> None:
    config = simulator.account_config(account_id).config
    simulator.push_config(instance_id, account_id, config)


def test_provision_walks_through_each_state(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION)
    request_id, instance_id = create(simulator)

    assert status(simulator, request_id).status is PairState.CREATING
    clock.advance(119)
    assert status(simulator, request_id).status is PairState.CREATING

    clock.advance(1)  # 40 % of 300 s
    bootstrapping = status(simulator, request_id)
    assert bootstrapping.status is PairState.BOOTSTRAPPING
    assert bootstrapping.awaiting_config is True

    push(simulator, instance_id)
    pushed = status(simulator, request_id)
    assert pushed.status is PairState.BOOTSTRAPPING
    assert pushed.awaiting_config is False

    clock.advance(179)
    assert status(simulator, request_id).status is PairState.BOOTSTRAPPING
    clock.advance(1)  # the remaining 60 %, counted from the push
    active = status(simulator, request_id)
    assert active.status is PairState.ACTIVE
    assert active.failure is None


def test_bootstrap_waits_for_config_push(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION)
    request_id, instance_id = create(simulator)

    clock.advance(3600)
    waiting = status(simulator, request_id)
    assert waiting.status is PairState.BOOTSTRAPPING
    assert waiting.awaiting_config is True

    push(simulator, instance_id)
    clock.advance(180)
    assert status(simulator, request_id).status is PairState.ACTIVE


def test_time_scale_compresses_durations(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION, time_scale=60)
    request_id, instance_id = create(simulator)

    clock.advance(2)  # 120 runbook seconds
    assert status(simulator, request_id).status is PairState.BOOTSTRAPPING
    push(simulator, instance_id)
    clock.advance(3)
    assert status(simulator, request_id).status is PairState.ACTIVE


def test_updated_at_is_when_the_state_began(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION, time_scale=60)
    request_id, _ = create(simulator)
    created_at = clock.wall()

    clock.advance(1)
    assert status(simulator, request_id).updated_at == created_at

    clock.advance(2)  # CREATING ended 2 wall seconds (120 runbook seconds) in
    bootstrapping_since = status(simulator, request_id).updated_at
    assert bootstrapping_since == created_at + timedelta(seconds=2)


def test_config_push_rejected_while_creating(make_simulator) -> None:
    simulator = make_simulator(FIXED_DURATION)
    _, instance_id = create(simulator)

    with pytest.raises(ApiError) as caught:
        push(simulator, instance_id)

    assert caught.value.status_code == 409
    assert caught.value.code == "instance_not_awaiting_config"


def test_same_config_push_is_accepted_again(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION)
    _, instance_id = create(simulator)
    clock.advance(120)
    push(simulator, instance_id)
    clock.advance(600)

    push(simulator, instance_id)  # no error: the same config, already accepted

    with pytest.raises(ApiError) as caught:
        simulator.push_config(instance_id, "acct-1", {"other": "config"})
    assert caught.value.status_code == 409


def test_pushed_config_is_compared_with_account(
    make_simulator, clock: FakeClock
) -> None:
    simulator = make_simulator(FIXED_DURATION)
    _, first = create(simulator, "key-1")
    _, second = create(simulator, "key-2")
    clock.advance(120)

    push(simulator, first)
    simulator.push_config(second, "acct-1", {"wrong": True})

    by_id = {i["instance_id"]: i for i in simulator.instances()}
    assert by_id[first]["config_matches_account"] is True
    assert by_id[second]["config_matches_account"] is False


def test_provision_failure_fails_when_creating_ends(
    make_simulator, clock: FakeClock
) -> None:
    simulator = make_simulator(
        {
            **FIXED_DURATION,
            "faults": [
                {
                    "kind": "provision_failure",
                    "provider": "hetzner",
                    "region": "nbg1",
                    "reason": "no capacity",
                }
            ],
        }
    )
    request_id, _ = create(simulator)
    other_id, _ = create(simulator, "key-2", primaryRegion="fsn1")

    clock.advance(120)
    failed = status(simulator, request_id)
    assert failed.status is PairState.FAILED
    assert failed.failure is not None
    assert failed.failure.kind is FailureKind.PROVISIONING
    assert failed.failure.reason == "no capacity"
    assert status(simulator, other_id).status is PairState.BOOTSTRAPPING


@pytest.mark.parametrize("cause", list(BootstrapCause))
def test_bootstrap_failure_follows_config_push(
    make_simulator, clock: FakeClock, cause: BootstrapCause
) -> None:
    simulator = make_simulator(
        {**FIXED_DURATION, "faults": [{"kind": "bootstrap_failure", "cause": cause}]}
    )
    request_id, instance_id = create(simulator)
    clock.advance(120)
    push(simulator, instance_id)
    assert status(simulator, request_id).status is PairState.BOOTSTRAPPING

    clock.advance(180)

    failed = status(simulator, request_id)
    assert failed.status is PairState.FAILED
    assert failed.failure is not None
    assert failed.failure.kind is FailureKind.BOOTSTRAP
    assert failed.failure.cause is cause
    assert failed.failure.reason == BOOTSTRAP_CAUSE_REASONS[cause]


def test_bootstrap_failure_without_cause_draws_one(make_simulator) -> None:
    simulator = make_simulator({"faults": [{"kind": "bootstrap_failure"}]})
    create(simulator)

    applied = simulator.instances()[0]["applied_faults"]

    assert applied == ["faults[0](bootstrap_failure)"]


def test_slow_provision_outlasts_the_timeout(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(
        {"faults": [{"kind": "slow_provision", "duration_s": 1500}]}
    )
    request_id, instance_id = create(simulator)
    clock.advance(599)
    assert status(simulator, request_id).status is PairState.CREATING

    clock.advance(1)
    push(simulator, instance_id)
    clock.advance(899)
    assert status(simulator, request_id).status is PairState.BOOTSTRAPPING
    clock.advance(1)
    assert status(simulator, request_id).status is PairState.ACTIVE


def test_low_health_sets_instance_score(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(
        {
            **FIXED_DURATION,
            "faults": [{"kind": "low_health", "provider": "hetzner", "score": 55}],
        }
    )
    _, instance_id = create(simulator)
    assert simulator.instance_health(instance_id, live=True).score == 0

    clock.advance(120)
    push(simulator, instance_id)
    clock.advance(180)

    health = simulator.instance_health(instance_id, live=True)
    assert health.score == 55
    assert health.live is True


def test_healthy_instance_scores_at_least_70(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(FIXED_DURATION)
    ids = [create(simulator, f"key-{n}")[1] for n in range(20)]
    clock.advance(120)
    for instance_id in ids:
        push(simulator, instance_id)
    clock.advance(180)

    scores = [simulator.instance_health(i, live=True).score for i in ids]

    assert min(scores) >= 70


def test_fault_first_limits_matches(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(
        {**FIXED_DURATION, "faults": [{"kind": "provision_failure", "first": 2}]}
    )
    request_ids = [create(simulator, f"key-{n}")[0] for n in range(3)]
    clock.advance(120)

    states = [status(simulator, r).status for r in request_ids]

    assert states == [PairState.FAILED, PairState.FAILED, PairState.BOOTSTRAPPING]


def test_fault_matches_role_and_account(make_simulator, clock: FakeClock) -> None:
    simulator = make_simulator(
        {
            **FIXED_DURATION,
            "faults": [
                {
                    "kind": "provision_failure",
                    "role": "standby",
                    "account_ids": ["acct-2"],
                }
            ],
        }
    )
    _, primary_1 = create(simulator, "p1", account_id="acct-1")
    _, primary_2 = create(simulator, "p2", account_id="acct-2")
    standby_1, _ = create(
        simulator, "s1", account_id="acct-1", role="standby", pair_instance_id=primary_1
    )
    standby_2, _ = create(
        simulator, "s2", account_id="acct-2", role="standby", pair_instance_id=primary_2
    )
    clock.advance(120)

    assert status(simulator, standby_1, "acct-1").status is PairState.BOOTSTRAPPING
    assert status(simulator, standby_2, "acct-2").status is PairState.FAILED


def test_same_seed_and_key_give_same_instance(make_simulator) -> None:
    first = make_simulator({"seed": 5})
    second = make_simulator({"seed": 5})
    create(first, "other-key", account_id="acct-9")  # a different request order

    create(first, "key-1")
    create(second, "key-1")

    draws_first = {i["idempotency_key"]: i for i in first.instances()}["key-1"]
    draws_second = second.instances()[0]
    for field in ("instance_id", "provision_request_id", "duration_s", "health_score"):
        assert draws_first[field] == draws_second[field]


def test_different_seed_gives_different_draws(make_simulator) -> None:
    first = make_simulator({"seed": 5})
    second = make_simulator({"seed": 6})

    create(first)
    create(second)

    assert first.instances()[0]["duration_s"] != second.instances()[0]["duration_s"]


def test_durations_stay_within_the_range(make_simulator) -> None:
    simulator = make_simulator()
    for n in range(50):
        create(simulator, f"key-{n}")

    durations = [i["duration_s"] for i in simulator.instances()]

    assert min(durations) >= 240
    assert max(durations) <= 480


def test_seed_argument_overrides_scenario(make_simulator) -> None:
    simulator = make_simulator({"seed": 5}, seed=9)

    assert simulator.seed == 9


def test_idempotent_provision_replays_same_request(make_simulator) -> None:
    simulator = make_simulator()
    first, replayed_first = simulator.provision(request(), "key-1")

    again, replayed_again = simulator.provision(request(), "key-1")

    assert replayed_first is False
    assert replayed_again is True
    assert again == first
    assert len(simulator.instances()) == 1
    assert simulator.quota_used(first.provider) == 101


def test_reused_key_with_other_body_conflicts(make_simulator) -> None:
    simulator = make_simulator()
    simulator.provision(request(), "key-1")

    with pytest.raises(ApiError) as caught:
        simulator.provision(request(tier="enterprise"), "key-1")

    assert caught.value.status_code == 409
    assert caught.value.code == "idempotency_key_reused"


def test_missing_idempotency_key_is_rejected(make_simulator) -> None:
    with pytest.raises(ApiError) as caught:
        make_simulator().provision(request(), None)

    assert caught.value.status_code == 400


def test_role_chooses_provider_and_region(make_simulator) -> None:
    simulator = make_simulator()
    primary, _ = simulator.provision(request(), "p")

    standby, _ = simulator.provision(
        request(role="standby", pair_instance_id=primary.instance_id), "s"
    )

    assert (primary.provider.value, primary.region) == ("hetzner", "nbg1")
    assert (standby.provider.value, standby.region) == ("vultr", "ams")
    assert standby.role is Role.STANDBY


@pytest.mark.parametrize(
    ("pair_instance_id", "code"),
    [
        (None, "pair_instance_required"),
        ("inst_unknown", "pair_instance_not_found"),
        ("OTHER_ACCOUNT", "pair_instance_not_found"),
    ],
)
def test_standby_requires_pair_of_same_account(
    make_simulator, pair_instance_id: str | None, code: str
) -> None:
    simulator = make_simulator()
    other, _ = simulator.provision(request(account_id="acct-2"), "other")
    if pair_instance_id == "OTHER_ACCOUNT":
        pair_instance_id = other.instance_id

    with pytest.raises(ApiError) as caught:
        simulator.provision(
            request(role="standby", pair_instance_id=pair_instance_id), "s"
        )

    assert caught.value.status_code == 422
    assert caught.value.code == code


def test_primary_rejects_pair_instance_id(make_simulator) -> None:
    with pytest.raises(ApiError) as caught:
        make_simulator().provision(request(pair_instance_id="inst_x"), "p")

    assert caught.value.code == "pair_instance_not_allowed"


def test_unknown_region_is_rejected(make_simulator) -> None:
    with pytest.raises(ApiError) as caught:
        make_simulator().provision(request(primaryRegion="ams"), "p")

    assert caught.value.status_code == 422
    assert caught.value.code == "unknown_region"
    assert "nbg1" in caught.value.message


def test_quota_exceeded_after_limit(make_simulator) -> None:
    simulator = make_simulator(
        {"providers": {"hetzner": {"quota_limit": 3, "quota_used": 1}}}
    )
    create(simulator, "key-1")
    create(simulator, "key-2")

    with pytest.raises(ApiError) as caught:
        create(simulator, "key-3")

    assert caught.value.status_code == 409
    assert caught.value.code == "quota_exceeded"
    assert simulator.quota_used(request().primary_provider) == 3


def test_provider_health_defaults_pass_thresholds(make_simulator) -> None:
    health = make_simulator().provider_health("http://sandbox/status")

    for provider in health.providers:
        assert provider.health_score >= 75
        assert provider.provision_success_rate_7d >= 95
        assert provider.avg_provision_time_s < 600
        assert provider.quota_limit == 1000
        assert provider.quota_used == 100


def test_scenario_overrides_provider_figures(make_simulator) -> None:
    simulator = make_simulator({"providers": {"vultr": {"health_score": 40}}})

    health = simulator.provider_health("http://sandbox/status")

    scores = {p.provider.value: p.health_score for p in health.providers}
    assert scores["vultr"] == 40
    assert scores["hetzner"] == 92


def test_replaced_scenario_applies_to_new_provisions(
    make_simulator, catalogue, clock: FakeClock
) -> None:
    simulator = make_simulator(FIXED_DURATION)
    before, _ = create(simulator, "key-1")
    simulator.replace_scenario(
        parse_scenario(
            {**FIXED_DURATION, "faults": [{"kind": "provision_failure"}]}, catalogue
        )
    )
    after, _ = create(simulator, "key-2")
    clock.advance(120)

    assert status(simulator, before).status is PairState.BOOTSTRAPPING
    assert status(simulator, after).status is PairState.FAILED


def test_audit_event_resend_stores_nothing(make_simulator) -> None:
    simulator = make_simulator()
    event = AuditEventIn(event_id="evt-1", action="provision_primary")

    _, created = simulator.record_audit_event(event)
    _, created_again = simulator.record_audit_event(event)

    assert created is True
    assert created_again is False
    assert len(simulator.audit_events()) == 1


def test_pair_status_hides_other_accounts(make_simulator) -> None:
    simulator = make_simulator()
    request_id, _ = create(simulator)

    with pytest.raises(ApiError) as caught:
        status(simulator, request_id, account_id="acct-2")

    assert caught.value.status_code == 404
