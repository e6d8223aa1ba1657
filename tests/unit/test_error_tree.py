"""Tests that pin the public exception names and their place under ForgeError."""

from __future__ import annotations

import inspect

import pytest

from forge_tasks import errors
from forge_tasks.errors import ForgeError

PUBLIC_ERRORS = {
    "ForgeError",
    "ConfigurationError",
    "InputError",
    "StoreError",
    "NotFoundError",
    "InvalidTransitionError",
    "GatewayForgeError",
    "TransientGatewayForgeError",
    "PermanentGatewayForgeError",
    "PlacementError",
    "CommanderInstructionError",
}
PARENTS = {
    "NotFoundError": "StoreError",
    "InvalidTransitionError": "StoreError",
    "TransientGatewayForgeError": "GatewayForgeError",
    "PermanentGatewayForgeError": "GatewayForgeError",
}


def exception_classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }


def test_module_exports_exactly_the_pinned_errors() -> None:
    assert set(exception_classes()) == PUBLIC_ERRORS


@pytest.mark.parametrize("name", sorted(PUBLIC_ERRORS))
def test_error_derives_from_forge_error(name: str) -> None:
    assert issubclass(getattr(errors, name), ForgeError)


@pytest.mark.parametrize(("name", "parent"), PARENTS.items(), ids=PARENTS.keys())
def test_error_derives_from_its_boundary_root(name: str, parent: str) -> None:
    assert issubclass(getattr(errors, name), getattr(errors, parent))


def test_transient_and_permanent_errors_are_distinct() -> None:
    assert not issubclass(
        errors.TransientGatewayForgeError, errors.PermanentGatewayForgeError
    )
    assert not issubclass(
        errors.PermanentGatewayForgeError, errors.TransientGatewayForgeError
    )


@pytest.mark.parametrize("name", sorted(PUBLIC_ERRORS))
def test_error_says_when_it_is_raised(name: str) -> None:
    assert inspect.getdoc(getattr(errors, name))
