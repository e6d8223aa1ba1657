"""The runbook's pre-provision checklist, evaluated for a whole batch.

The checks run in the runbook's order: provider health, region availability,
quota headroom and operator authorization. A refused batch gets every reason at
once, so the operator can fix them in one pass. Logging the intent to gf-audit,
the checklist's last step, is I/O and belongs to the tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.pairs import PairConfig
from forge_tasks.domain.placement import (
    Conditions,
    PairPlan,
    PlanCheck,
    plan_pair,
)
from forge_tasks.domain.pricing import (
    PairPlacement,
    PriceTable,
    estimate_monthly_cost_eur,
)
from forge_tasks.gatewayforge.models import Provider, Tier


@dataclass(frozen=True)
class AccountRequest:
    """One account of a batch: its tier and the name of its default pair."""

    account_id: str
    tier: Tier
    pair_name: str


@dataclass(frozen=True)
class PreflightResult:
    """The checklist's verdict, every reason for a refusal, and each account's plan.

    ``plans`` has an entry for every account whose pair name is known, including
    accounts whose plan has problems.
    """

    accepted: bool
    reasons: list[str]
    plans: dict[str, PairPlan]
    estimated_cost_eur: Decimal


def evaluate_preflight(
    accounts: Sequence[AccountRequest],
    conditions: Conditions,
    catalogue: Catalogue,
    pairs: Mapping[str, PairConfig],
    prices: PriceTable,
    *,
    approved_count: int,
    approved_cost_eur: Decimal,
) -> PreflightResult:
    """Run the pre-provision checklist on a batch and plan every account's pair.

    The cost estimate and the quota check count each account's planned regions,
    or its default pair's regions where a role could not be placed.
    """
    reasons = _request_reasons(accounts, pairs)
    plans = {
        account.account_id: plan_pair(
            pairs[account.pair_name], account.tier, conditions, catalogue
        )
        for account in accounts
        if account.pair_name in pairs
    }
    placements = [
        _placement_of(account, plans[account.account_id], pairs[account.pair_name])
        for account in accounts
        if account.account_id in plans
    ]
    cost = estimate_monthly_cost_eur(placements, prices)

    reasons += _plan_reasons(plans, PlanCheck.PROVIDER_HEALTH)
    reasons += _plan_reasons(plans, PlanCheck.REGION_AVAILABILITY)
    reasons += _quota_reasons(placements, conditions)
    reasons += _authorization_reasons(
        len(accounts), cost, approved_count, approved_cost_eur
    )
    return PreflightResult(
        accepted=not reasons,
        reasons=reasons,
        plans=plans,
        estimated_cost_eur=cost,
    )


def _request_reasons(
    accounts: Sequence[AccountRequest], pairs: Mapping[str, PairConfig]
) -> list[str]:
    reasons = []
    counts = Counter(account.account_id for account in accounts)
    for account_id, count in counts.items():
        if count > 1:
            reasons.append(f"request: account {account_id} is listed {count} times")
    for account in accounts:
        if account.pair_name not in pairs:
            reasons.append(
                f"request: account {account.account_id} names unknown pair "
                f"{account.pair_name!r}; known pairs: {', '.join(pairs)}"
            )
    return reasons


def _plan_reasons(plans: Mapping[str, PairPlan], check: PlanCheck) -> list[str]:
    """Return one reason per distinct problem, naming every account it affects."""
    accounts_by_message: dict[str, list[str]] = {}
    for account_id, plan in plans.items():
        for problem in plan.problems:
            if problem.check == check:
                accounts_by_message.setdefault(problem.message, []).append(account_id)
    return [
        f"{check}: {_accounts_label(account_ids)}: {message}"
        for message, account_ids in accounts_by_message.items()
    ]


def _accounts_label(account_ids: list[str]) -> str:
    if len(account_ids) == 1:
        return f"account {account_ids[0]}"
    return "accounts " + ", ".join(account_ids)


def _placement_of(
    account: AccountRequest, plan: PairPlan, pair: PairConfig
) -> PairPlacement:
    primary = plan.primary or pair.primary
    standby = plan.standby or pair.standby
    return PairPlacement(account.tier, primary.provider, standby.provider)


def _quota_reasons(
    placements: Iterable[PairPlacement], conditions: Conditions
) -> list[str]:
    needed: Counter[Provider] = Counter()
    for placement in placements:
        needed[placement.primary_provider] += 1
        needed[placement.standby_provider] += 1

    reasons = []
    for provider, count in needed.items():
        state = conditions.get(provider)
        # A provider missing from the health response is already a health reason.
        if state is not None and count > state.quota_free:
            reasons.append(
                f"quota headroom: the batch needs {count} {provider} instances but "
                f"only {state.quota_free} are free (limit {state.quota_limit}, "
                f"used {state.quota_used})"
            )
    return reasons


def _authorization_reasons(
    account_count: int,
    cost_eur: Decimal,
    approved_count: int,
    approved_cost_eur: Decimal,
) -> list[str]:
    reasons = []
    if account_count > approved_count:
        reasons.append(
            f"operator authorization: the batch has {account_count} accounts but "
            f"only {approved_count} were approved"
        )
    if cost_eur > approved_cost_eur:
        reasons.append(
            f"operator authorization: the estimated monthly cost {cost_eur:.2f} EUR "
            f"exceeds the approved {approved_cost_eur:.2f} EUR"
        )
    return reasons
