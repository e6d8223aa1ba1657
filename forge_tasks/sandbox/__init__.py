"""The GatewayForge sandbox: a simulated GatewayForge HTTP API for tests and demos.

Layout, from the outside in:

* ``server``: ``create_app`` and ``run``, building everything from config/ and settings.
* ``app``, ``api``, ``inspection``: the FastAPI routes, error bodies and request log.
* ``simulator``: the in-memory state behind one lock, with an injectable clock.
* ``timeline``, ``faults``: the pure rules of one instance's life and of the
  scenario's faults.
* ``feeds``, ``statuspage``, ``vultr_status``: the providers' status documents.
* ``scenario``: the scenario file's models and loader.

docs/gatewayforge-api.md is the API contract and docs/sandbox.md describes the
time scale, the scenario format and the inspection endpoints.
"""

from forge_tasks.sandbox.scenario import Scenario, ScenarioError, load_scenario
from forge_tasks.sandbox.server import create_app, run
from forge_tasks.sandbox.simulator import Simulator

__all__ = [
    "Scenario",
    "ScenarioError",
    "Simulator",
    "create_app",
    "load_scenario",
    "run",
]
