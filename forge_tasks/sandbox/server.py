"""Build and run the sandbox from files and settings.

``create_app`` is what tests and the CLI call; ``run`` serves it with uvicorn.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from forge_tasks.domain.catalogue import load_catalogue
from forge_tasks.domain.feeds import load_component_map
from forge_tasks.sandbox.app import build_app
from forge_tasks.sandbox.journal import Journal
from forge_tasks.sandbox.scenario import Scenario, load_scenario
from forge_tasks.sandbox.simulator import Clock, Simulator, WallClock, utc_now
from forge_tasks.settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8790


def create_app(
    scenario_path: Path | None = None,
    time_scale: float | None = None,
    seed: int | None = None,
    *,
    api_key: str | None = None,
    companion_secret: str | None = None,
    clock: Clock = time.monotonic,
    wall_clock: WallClock = utc_now,
) -> FastAPI:
    """Build the sandbox application.

    Unset arguments come from settings: ``time_scale`` from FORGE_TIME_SCALE,
    ``api_key`` from FORGE_GATEWAYFORGE_API_KEY and ``companion_secret`` from
    FORGE_COMPANION_SECRET. Without ``scenario_path`` the scenario has no faults.
    A ``seed`` overrides the seed of every scenario, including ones loaded later
    with PUT /sandbox/scenario. Raises ScenarioError when the scenario is
    invalid and ConfigurationError when config/ is.
    """
    settings = get_settings()
    catalogue = load_catalogue()
    scenario = (
        Scenario() if scenario_path is None else load_scenario(scenario_path, catalogue)
    )
    simulator = Simulator(
        scenario,
        catalogue,
        load_component_map(catalogue),
        time_scale=settings.time_scale if time_scale is None else time_scale,
        seed=seed,
        clock=clock,
        wall_clock=wall_clock,
    )
    return build_app(
        simulator,
        Journal(wall_clock),
        api_key=api_key or settings.gatewayforge_api_key.get_secret_value(),
        companion_secret=companion_secret
        or settings.companion_secret.get_secret_value(),
    )


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    scenario_path: Path | None = None,
    time_scale: float | None = None,
    seed: int | None = None,
) -> None:
    """Serve the sandbox until interrupted; raises ScenarioError before serving."""
    app = create_app(scenario_path, time_scale, seed)
    simulator = app.state.simulator
    logger.info(
        "GatewayForge sandbox listening on http://%s:%s with scenario %r, "
        "time scale %s, seed %s",
        host, port, simulator.scenario.name, simulator.time_scale, simulator.seed,
    )  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="info")
    logger.info("GatewayForge sandbox on port %s stopped", port)
