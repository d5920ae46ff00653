"""A local fake of VBot's call-history and member HTTP APIs (v2 Bearer token and v3 X-API-Key),
with webhooks, faults and a hostile "other host" for security tests.

Run it with ``python3 -m vbot_simulator --port 8765`` or in-process::

    from vbot_simulator import SimulatorConfig, SimulatorServer

    with SimulatorServer(SimulatorConfig(calls=50), port=0) as srv:
        print(srv.base_url_v2, len(srv.state.calls))
"""

from .config import SimulatorConfig
from .data import phone_key
from .foreign import ForeignListener
from .server import SimulatorServer
from .state import SimulatorState
from .webhooks import WebhookDispatcher, WebhookSettings

__all__ = [
    "ForeignListener",
    "SimulatorConfig",
    "SimulatorServer",
    "SimulatorState",
    "WebhookDispatcher",
    "WebhookSettings",
    "phone_key",
]
