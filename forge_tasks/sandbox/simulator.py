"""The sandbox's state: instances, quotas, audit events and the active scenario.

All state lives in memory in one process, behind one lock, because the
sandbox is a single-process test double. Time comes from an injectable clock
(monotonic seconds), multiplied by the time scale to give runbook seconds, so
unit tests move time forward without sleeping.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.gatewayforge.models import (
    AccountConfig,
    AuditEventAck,
    AuditEventIn,
    ConfigPushResponse,
    InstanceHealth,
    PairState,
    PairStatus,
    Provider,
    ProviderHealth,
    ProviderHealthResponse,
    ProvisionRequest,
    ProvisionResponse,
    Role,
)
from forge_tasks.sandbox.accounts import account_config, config_digest
from forge_tasks.sandbox.faults import (
    FaultCounters,
    Target,
    instance_random,
    plan_provision,
)
from forge_tasks.sandbox.feeds import FeedContext, build_document, build_feed
from forge_tasks.sandbox.instances import (
    ApiError,
    Instance,
    describe,
    fingerprint,
    pair_status,
    placement_of,
    provision_response,
)
from forge_tasks.sandbox.providers import figures_of
from forge_tasks.sandbox.scenario import HttpError, Scenario
from forge_tasks.sandbox.timeline import Snapshot, Timeline, snapshot_at

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Simulator:
    """The simulated GatewayForge; every public method is thread-safe."""

    def __init__(
        self,
        scenario: Scenario,
        catalogue: Catalogue,
        components: dict[Provider, dict[str, str]],
        *,
        time_scale: float = 1.0,
        seed: int | None = None,
        clock: Clock = time.monotonic,
        wall_clock: WallClock = utc_now,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.catalogue = catalogue
        self.components = components
        self.time_scale = time_scale
        self._seed_override = seed
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._instances: dict[str, Instance] = {}
        self._by_request_id: dict[str, Instance] = {}
        self._by_key: dict[str, Instance] = {}
        self._created_per_provider: dict[Provider, int] = dict.fromkeys(Provider, 0)
        self._audit_events: dict[str, dict[str, Any]] = {}
        self._activate(scenario)

    # Scenario ------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        with self._lock:
            return self._scenario

    @property
    def seed(self) -> int:
        with self._lock:
            if self._seed_override is not None:
                return self._seed_override
            return self._scenario.seed

    def replace_scenario(self, scenario: Scenario) -> None:
        """Activate ``scenario``; instances already created keep their timeline."""
        with self._lock:
            self._activate(scenario)
        logger.info("scenario %r is now active", scenario.name)

    def _activate(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._scenario_started_at = self._wall_clock()
        self._fault_counters = FaultCounters()
        seed = scenario.seed if self._seed_override is None else self._seed_override
        self._http_error_random = random.Random(f"{seed}:http_error")

    def draw_http_error(
        self, method: str, path: str, phase: str
    ) -> tuple[int, HttpError] | None:
        """Return the http_error fault (and its index) that hits this request, if any.

        Each matching fault draws once from a generator seeded by the scenario, so
        the same sequence of requests meets the same errors on every run.
        """
        with self._lock:
            for index, fault in enumerate(self._scenario.faults):
                if not isinstance(fault, HttpError) or fault.phase != phase:
                    continue
                if not path.startswith(fault.path_prefix):
                    continue
                if fault.method is not None and fault.method.upper() != method:
                    continue
                if self._http_error_random.random() < fault.rate:
                    return index, fault
        return None

    # Time ------------------------------------------------------------------------

    def now_s(self) -> float:
        """Return the current time in runbook seconds."""
        return self._clock() * self.time_scale

    def _wall_time_of(self, runbook_s: float) -> datetime:
        elapsed_wall_s = (self.now_s() - runbook_s) / self.time_scale
        return self._wall_clock() - timedelta(seconds=elapsed_wall_s)

    # Provider health -----------------------------------------------------------

    def provider_health(self, status_base_url: str) -> ProviderHealthResponse:
        with self._lock:
            context = self._feed_context(status_base_url)
            providers = [self._health_of(p, context) for p in Provider]
        return ProviderHealthResponse(
            providers=providers, generated_at=self._wall_clock()
        )

    def feed_document(
        self, provider: Provider, status_base_url: str
    ) -> dict[str, Any] | str:
        with self._lock:
            context = self._feed_context(status_base_url)
            return build_document(provider, self._scenario, context)

    def quota_used(self, provider: Provider) -> int:
        """Return the scenario's quota_used plus the instances created since start."""
        with self._lock:
            base = figures_of(self._scenario, provider).quota_used
            return base + self._created_per_provider[provider]

    def _health_of(self, provider: Provider, context: FeedContext) -> ProviderHealth:
        figures = figures_of(self._scenario, provider)
        return ProviderHealth(
            provider=provider,
            health_score=figures.health_score,
            provision_success_rate_7d=figures.provision_success_rate_7d,
            avg_provision_time_s=figures.avg_provision_time_s,
            quota_limit=figures.quota_limit,
            quota_used=self.quota_used(provider),
            status_feed=build_feed(provider, self._scenario, context),
        )

    def _feed_context(self, status_base_url: str) -> FeedContext:
        return FeedContext(
            catalogue=self.catalogue,
            components=self.components,
            status_base_url=status_base_url,
            scenario_started_at=self._scenario_started_at,
        )

    # Provisions ------------------------------------------------------------------

    def provision(
        self, request: ProvisionRequest, idempotency_key: str | None
    ) -> tuple[ProvisionResponse, bool]:
        """Create the role's instance, or replay the one made with the same key.

        Returns the response and whether it is a replay. Raises ApiError on a
        missing or reused key, an unknown region, a bad pair_instance_id or
        an exhausted quota.
        """
        if not idempotency_key:
            raise ApiError(
                400, "idempotency_key_missing",
                "missing Idempotency-Key header: send a unique key per provision "
                "and reuse it when retrying",
            )  # fmt: skip
        request_fingerprint = fingerprint(request)
        with self._lock:
            existing = self._by_key.get(idempotency_key)
            if existing is not None:
                return self._replay(
                    existing, idempotency_key, request_fingerprint
                ), True
            instance = self._create(request, idempotency_key, request_fingerprint)
        logger.info(
            "account %s: created %s instance %s in %s/%s (request %s, %s)",
            instance.account_id, instance.role.value, instance.instance_id,
            instance.provider.value, instance.region, instance.provision_request_id,
            ", ".join(instance.applied_faults) or "no faults",
        )  # fmt: skip
        return provision_response(instance), False

    def _replay(
        self, instance: Instance, idempotency_key: str, request_fingerprint: str
    ) -> ProvisionResponse:
        if instance.request_fingerprint != request_fingerprint:
            raise ApiError(
                409, "idempotency_key_reused",
                f"Idempotency-Key {idempotency_key!r} was already used with a "
                "different request body: use a new key for a different request",
            )  # fmt: skip
        return provision_response(instance)

    def _create(
        self, request: ProvisionRequest, idempotency_key: str, request_fingerprint: str
    ) -> Instance:
        provider, region = placement_of(request)
        self._check_region(provider, region)
        self._check_pair(request)
        self._check_quota(provider)

        seed = self.seed
        rng = instance_random(seed, idempotency_key)
        target = Target(request.account_id, request.role, provider, region)
        plan = plan_provision(self._scenario, target, rng, self._fault_counters)
        instance = Instance(
            provision_request_id=f"pr_{rng.getrandbits(64):016x}",
            instance_id=f"inst_{rng.getrandbits(64):016x}",
            account_id=request.account_id,
            role=request.role,
            provider=provider,
            region=region,
            pair_instance_id=request.pair_instance_id,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            created_at=self._wall_clock(),
            timeline=Timeline(self.now_s(), plan.duration_s, plan.failure),
            health_score=plan.health_score,
            applied_faults=plan.applied_faults,
        )
        self._instances[instance.instance_id] = instance
        self._by_request_id[instance.provision_request_id] = instance
        self._by_key[idempotency_key] = instance
        self._created_per_provider[provider] += 1
        return instance

    def _check_region(self, provider: Provider, region: str) -> None:
        known = [r.id for r in self.catalogue.regions_of(provider)]
        if region not in known:
            raise ApiError(
                422, "unknown_region",
                f"region {region!r} is not a {provider.value} region; use one of "
                f"{', '.join(known)}",
            )  # fmt: skip

    def _check_pair(self, request: ProvisionRequest) -> None:
        pair_id = request.pair_instance_id
        if request.role is Role.PRIMARY:
            if pair_id is not None:
                raise ApiError(
                    422, "pair_instance_not_allowed",
                    "pair_instance_id is only for role standby: leave it out "
                    "when provisioning a primary",
                )  # fmt: skip
            return
        if pair_id is None:
            raise ApiError(
                422, "pair_instance_required",
                "a standby needs pair_instance_id: set it to the primary's instanceId",
            )  # fmt: skip
        pair = self._instances.get(pair_id)
        if pair is None or pair.account_id != request.account_id:
            raise ApiError(
                422, "pair_instance_not_found",
                f"pair_instance_id {pair_id!r} is not an instance of account "
                f"{request.account_id}: use the instanceId of that account's primary",
            )  # fmt: skip

    def _check_quota(self, provider: Provider) -> None:
        used = self.quota_used(provider)
        limit = figures_of(self._scenario, provider).quota_limit
        if used + 1 > limit:
            raise ApiError(
                409, "quota_exceeded",
                f"{provider.value} quota exhausted: {used} of {limit} instances in "
                "use; choose another provider or wait for quota",
            )  # fmt: skip

    # Status and health -----------------------------------------------------------

    def pair_status(self, provision_request_id: str, account_id: str) -> PairStatus:
        with self._lock:
            instance = self._by_request_id.get(provision_request_id)
            if instance is None or instance.account_id != account_id:
                raise ApiError(
                    404, "provision_request_not_found",
                    f"no provision request {provision_request_id!r} for account "
                    f"{account_id!r}",
                )  # fmt: skip
            snapshot = self._snapshot(instance)
            updated_at = self._wall_time_of(snapshot.since_s)
            return pair_status(instance, snapshot, updated_at)

    def instance_health(self, instance_id: str, live: bool) -> InstanceHealth:
        """Return the drawn score once ACTIVE; 0 before that and after a failure."""
        with self._lock:
            instance = self._get_instance(instance_id)
            active = self._snapshot(instance).status is PairState.ACTIVE
            score = instance.health_score if active else 0
        return InstanceHealth(
            instance_id=instance_id,
            score=score,
            live=live,
            checked_at=self._wall_clock(),
        )

    def _snapshot(self, instance: Instance) -> Snapshot:
        return snapshot_at(instance.timeline, self.now_s())

    def _get_instance(self, instance_id: str) -> Instance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise ApiError(404, "instance_not_found", f"no instance {instance_id!r}")
        return instance

    # Account config ----------------------------------------------------------------

    def account_config(self, account_id: str) -> AccountConfig:
        return account_config(self.seed, account_id)

    def push_config(
        self, instance_id: str, account_id: str, config: dict[str, Any]
    ) -> ConfigPushResponse:
        """Accept the config while the instance awaits it.

        A resend of the accepted config is accepted again and changes nothing.
        """
        digest = config_digest(config)
        with self._lock:
            instance = self._get_instance(instance_id)
            if instance.account_id != account_id:
                raise ApiError(
                    404, "instance_not_found",
                    f"no instance {instance_id!r} for account {account_id!r}",
                )  # fmt: skip
            if instance.pushed_config_digest is not None:
                self._check_same_config(instance, digest)
            else:
                self._accept_config(instance, digest)
        return ConfigPushResponse(instance_id=instance_id, accepted=True)

    def _check_same_config(self, instance: Instance, digest: str) -> None:
        if instance.pushed_config_digest != digest:
            raise ApiError(
                409, "config_already_pushed",
                f"instance {instance.instance_id} already accepted a different "
                "config; a config can be pushed once per instance",
            )  # fmt: skip

    def _accept_config(self, instance: Instance, digest: str) -> None:
        snapshot = self._snapshot(instance)
        if not snapshot.awaiting_config:
            raise ApiError(
                409, "instance_not_awaiting_config",
                f"instance {instance.instance_id} is {snapshot.status.value} and "
                "not awaiting its config; push only while BOOTSTRAPPING with "
                "awaiting_config true",
            )  # fmt: skip
        expected = config_digest(self.account_config(instance.account_id).config)
        instance.timeline.config_pushed_at_s = self.now_s()
        instance.pushed_config_digest = digest
        instance.config_matches_account = digest == expected
        logger.info(
            "account %s: instance %s accepted its config and finishes bootstrapping",
            instance.account_id, instance.instance_id,
        )  # fmt: skip

    # Audit -------------------------------------------------------------------------

    def record_audit_event(self, event: AuditEventIn) -> tuple[AuditEventAck, bool]:
        """Store a gf-audit event; returns the ack and whether it was new."""
        with self._lock:
            if event.event_id in self._audit_events:
                return AuditEventAck(event_id=event.event_id), False
            record = event.model_dump(mode="json")
            record["received_at"] = self._wall_clock().isoformat()
            self._audit_events[event.event_id] = record
        return AuditEventAck(event_id=event.event_id), True

    # Inspection --------------------------------------------------------------------

    def audit_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._audit_events.values())

    def instances(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._describe(instance) for instance in self._instances.values()]

    def _describe(self, instance: Instance) -> dict[str, Any]:
        pushed_at = instance.timeline.config_pushed_at_s
        pushed_wall = None if pushed_at is None else self._wall_time_of(pushed_at)
        return describe(instance, self._snapshot(instance), pushed_wall)
