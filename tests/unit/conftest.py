"""Fixtures shared by the unit tests."""

from collections.abc import Iterator

import pytest

from spanstream.schemas import _implementation


@pytest.fixture(scope="module", params=_implementation.AVAILABLE)
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's tests against each implementation (codec and builder): Python, and C if built.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("implementation")``.
    """
    previous = _implementation.use(request.param)
    yield request.param
    _implementation.use(previous)
