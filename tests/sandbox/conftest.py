"""Fixtures of the sandbox tests: a fake clock, simulators and an API client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_helpers import API_KEY, COMPANION_SECRET, FakeClock

from forge_tasks.domain.catalogue import Catalogue, load_catalogue
from forge_tasks.domain.feeds import load_component_map
from forge_tasks.gatewayforge.models import Provider
from forge_tasks.sandbox.scenario import parse_scenario
from forge_tasks.sandbox.server import create_app
from forge_tasks.sandbox.simulator import Simulator


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def components(catalogue: Catalogue) -> dict[Provider, dict[str, str]]:
    return load_component_map(catalogue)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeSimulator = Callable[..., Simulator]


@pytest.fixture
def make_simulator(
    catalogue: Catalogue,
    components: dict[Provider, dict[str, str]],
    clock: FakeClock,
) -> MakeSimulator:
    """Build a simulator on the fake clock from a scenario document (time scale 1)."""

    def make(scenario: dict[str, Any] | None = None, **kwargs: Any) -> Simulator:
        parsed = parse_scenario(scenario or {}, catalogue)
        return Simulator(
            parsed, catalogue, components, clock=clock, wall_clock=clock.wall, **kwargs
        )

    return make


@pytest.fixture
def client(clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(
        time_scale=60,
        seed=11,
        api_key=API_KEY,
        companion_secret=COMPANION_SECRET,
        clock=clock,
        wall_clock=clock.wall,
    )
    with TestClient(app) as test_client:
        yield test_client
