"""Test helpers: a real VBot simulator on 127.0.0.1 and an account pointed at it."""

import importlib.util
import sys
from pathlib import Path

from odoo.tests import TransactionCase

# The simulator lives next to the addon in this repository.
_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from vbot_simulator import ForeignListener, SimulatorConfig, SimulatorServer  # noqa: E402


def _load_hostile():
    """tests/hostile.py (no Odoo): the hostile URL battery and the foreign listener."""
    spec = importlib.util.spec_from_file_location(
        "vbot_tests_hostile", Path(_REPO) / "tests" / "hostile.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = _load_hostile()


ALLOWED_HOSTS_PARAM = "vbot_call_history.allowed_hosts"


def start_simulator(**config):
    server = SimulatorServer(SimulatorConfig(**config), host="127.0.0.1", port=0)
    server.start()
    return server


def start_foreign():
    """A started listener standing for a host nobody configured: it must receive nothing."""
    return ForeignListener().start()


def allow_hosts(env, *servers):
    """Allow these simulators (or ``host:port`` strings) as VBot API hosts.

    The simulator is not a VBot host (https on *.vbot.vn): like an administrator, a test
    adds its ``127.0.0.1:PORT`` to the system parameter before an account points at it.
    """
    entries = [s if isinstance(s, str) else s.url.split("://", 1)[1] for s in servers]
    params = env["ir.config_parameter"].sudo()
    current = (params.get_param(ALLOWED_HOSTS_PARAM) or "").split()
    params.set_param(ALLOWED_HOSTS_PARAM, " ".join(dict.fromkeys(current + entries)))


def account_values(server, **extra):
    values = {
        "name": "VBot test",
        "base_url": server.base_url_v2,
        "api_version": "v2",
        "username": "demo",
        "password": "demo",
        "vbot_id": "VB-DEMO",
        "project_code": "PR-DEMO",
        "initial_days": 30,
    }
    values.update(extra)
    return values


class VbotCase(TransactionCase):
    """A company account synced against its own simulator (``cls.sim``)."""

    sim_config = {"calls": 300, "seed": 3, "days": 20}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(**cls.sim_config)
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.company = cls.env.company
        cls.env["vbot.account"].with_context(active_test=False).search(
            [("company_id", "=", cls.company.id)]
        ).unlink()
        cls.account = cls.env["vbot.account"].create(account_values(cls.sim))
        cls.Call = cls.env["vbot.call"]

    def calls(self, account=None):
        return self.Call.search([("account_id", "=", (account or self.account).id)])
