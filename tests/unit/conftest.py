"""Fixtures shared by the unit tests."""

from collections.abc import Iterator

import pytest

from spanstream.schemas._codec import IMPLEMENTATIONS, use_implementation


@pytest.fixture(scope="module", params=sorted(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's tests against each codec implementation: pure Python, and C when built.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("implementation")``.
    """
    previous = use_implementation(request.param)
    yield request.param
    use_implementation(previous)
