"""A local fake of VBot's call-history HTTP API (v2 Bearer token and v3 X-API-Key).

Run it with ``python3 -m vbot_simulator --port 8765`` or in-process::

    from vbot_simulator import SimulatorConfig, SimulatorServer

    with SimulatorServer(SimulatorConfig(calls=50), port=0) as srv:
        print(srv.base_url_v2, len(srv.state.calls))
"""

from .config import SimulatorConfig
from .data import phone_key
from .server import SimulatorServer
from .state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorServer", "SimulatorState", "phone_key"]
