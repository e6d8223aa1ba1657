"""Scenario files: the examples load, and bad fields are named with a fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue, config_dir
from forge_tasks.errors import ConfigurationError
from forge_tasks.sandbox.scenario import (
    HttpError,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

EXAMPLES = sorted((config_dir() / "scenarios").glob("*.json"))
EXPECTED_EXAMPLES = {
    "default",
    "failing-region",
    "bootstrap-failures",
    "slow-provisions",
    "low-health",
    "region-incident",
    "provider-incident",
    "flaky-api",
}


def problems(document: Any, catalogue: Catalogue) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, catalogue, source="test.json")
    return str(caught.value)


def test_documented_example_scenarios_exist() -> None:
    assert EXPECTED_EXAMPLES <= {path.stem for path in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_scenario_loads(path: Path, catalogue: Catalogue) -> None:
    scenario = load_scenario(path, catalogue)

    assert scenario.name == path.stem
    assert scenario.description


def test_empty_scenario_has_defaults(catalogue: Catalogue) -> None:
    scenario = parse_scenario({}, catalogue)

    assert scenario.provision_time_s == (240.0, 480.0)
    assert scenario.faults == []
    assert scenario.seed == 0


def test_scenario_error_is_configuration_error() -> None:
    assert issubclass(ScenarioError, ConfigurationError)


def test_unknown_fault_kind_is_named(catalogue: Catalogue) -> None:
    message = problems({"faults": [{"kind": "meteor_strike"}]}, catalogue)

    assert "faults[0]" in message
    assert "meteor_strike" in message
    assert "provision_failure" in message  # the valid kinds are listed


def test_field_of_other_kind_is_rejected(catalogue: Catalogue) -> None:
    message = problems(
        {"faults": [{"kind": "http_error", "status": 503, "rate": 0.5, "region": "x"}]},
        catalogue,
    )

    assert "faults[0](http_error).region" in message
    assert "remove it" in message


def test_missing_required_field_is_named(catalogue: Catalogue) -> None:
    message = problems({"faults": [{"kind": "slow_provision"}]}, catalogue)

    assert "faults[0](slow_provision).duration_s" in message
    assert "add it" in message


def test_rate_out_of_range_is_named(catalogue: Catalogue) -> None:
    message = problems(
        {"faults": [{"kind": "http_error", "status": 503, "rate": 1.5}]}, catalogue
    )

    assert "faults[0](http_error).rate" in message
    assert "1.5" in message
    assert "less than or equal to 1" in message


def test_unknown_provider_override_is_named(catalogue: Catalogue) -> None:
    message = problems({"providers": {"linode": {"health_score": 80}}}, catalogue)

    assert "providers.linode" in message
    assert "hetzner" in message


def test_unknown_region_names_valid_regions(catalogue: Catalogue) -> None:
    message = problems(
        {"faults": [{"kind": "region_incident", "provider": "hetzner", "region": "x"}]},
        catalogue,
    )

    assert "faults[0](region_incident).region" in message
    assert "nbg1" in message


def test_inverted_provision_time_is_rejected(catalogue: Catalogue) -> None:
    message = problems({"provision_time_s": [480, 240]}, catalogue)

    assert "provision_time_s" in message
    assert "min <= max" in message


def test_unknown_top_level_field_is_rejected(catalogue: Catalogue) -> None:
    message = problems({"fault": []}, catalogue)

    assert "fault:" in message
    assert "remove it" in message


def test_invalid_json_names_line(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "seed": 1,\n}\n')

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, catalogue)

    assert "line 3" in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "absent.json", catalogue)

    assert "absent.json" in str(caught.value)


def test_http_error_defaults(catalogue: Catalogue) -> None:
    scenario = parse_scenario(
        {"faults": [{"kind": "http_error", "status": 429, "rate": 0.2}]}, catalogue
    )

    fault = scenario.faults[0]
    assert isinstance(fault, HttpError)
    assert fault.path_prefix == "/v1"
    assert fault.phase == "before"
    assert fault.retry_after_s == 60
