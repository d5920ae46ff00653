"""Shared pytest fixtures: an in-process VBot simulator on a free 127.0.0.1 port.

``simulator``   a started :class:`vbot_simulator.SimulatorServer` (calls=200, seed=1),
                function-scoped; override its config with indirect parametrisation::

                    @pytest.mark.parametrize("simulator", [{"calls": 500, "token_ttl": 1}],
                                             indirect=True)
                    def test_x(simulator): ...

``sim_factory`` a factory ``sim_factory(**SimulatorConfig kwargs) -> started server``; every
                server it made is stopped at teardown.

``foreign``     a started :class:`vbot_simulator.ForeignListener` (another host on 127.0.0.1
                that records every request it gets), stopped at teardown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Make the repository root importable however pytest is launched (`pytest` or `python -m pytest`).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from vbot_simulator import ForeignListener, SimulatorConfig, SimulatorServer

SimFactory = Callable[..., SimulatorServer]


# pytest-odoo (installed for the addon's tests) adds session-wide autouse fixtures that open an
# Odoo registry and fail without --odoo-database. Tests in this folder need no Odoo: shadow them.
@pytest.fixture(scope="session", autouse=True)
def load_registry() -> None:
    """No Odoo registry for the service and simulator tests."""


@pytest.fixture(scope="session", autouse=True)
def load_http() -> None:
    """No Odoo HTTP server for the service and simulator tests."""


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag() -> None:
    """No Odoo test flag for the service and simulator tests."""


@pytest.fixture
def sim_factory() -> Iterator[SimFactory]:
    """Yield ``factory(**cfg_kwargs)`` that starts a simulator; all are stopped at teardown."""
    servers: list[SimulatorServer] = []

    def factory(**cfg_kwargs: Any) -> SimulatorServer:
        server = SimulatorServer(SimulatorConfig(**cfg_kwargs), host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def simulator(request: pytest.FixtureRequest, sim_factory: SimFactory) -> SimulatorServer:
    """A started simulator with calls=200 seed=1, overridable through ``request.param``."""
    kwargs: dict[str, Any] = {"calls": 200, "seed": 1}
    kwargs.update(getattr(request, "param", None) or {})
    return sim_factory(**kwargs)


@pytest.fixture
def foreign() -> Iterator[ForeignListener]:
    """A started ForeignListener; stopped at teardown."""
    with ForeignListener() as listener:
        yield listener
