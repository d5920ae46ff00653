"""Test helpers: a real VBot simulator on 127.0.0.1 and an account pointed at it."""

import importlib.util
import sys
import uuid
from datetime import datetime, timedelta, timezone
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


def setup_simulated_account(cls, replaced=(), **extra):
    """Give the test class ``cls`` its simulator (``cls.sim``, from ``cls.sim_config``) and
    an account on it (``cls.account``), in place of the accounts of domain ``replaced``."""
    cls.sim = start_simulator(**cls.sim_config)
    cls.addClassCleanup(cls.sim.stop)
    allow_hosts(cls.env, cls.sim)
    cls.env["vbot.account"].with_context(active_test=False).search(list(replaced)).unlink()
    cls.account = cls.env["vbot.account"].create(account_values(cls.sim, **extra))
    cls.Call = cls.env["vbot.call"]


class VbotCase(TransactionCase):
    """A company account synced against its own simulator (``cls.sim``)."""

    sim_config = {"calls": 300, "seed": 3, "days": 20}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        setup_simulated_account(cls, [("company_id", "=", cls.company.id)])

    def calls(self, account=None):
        return self.Call.search([("account_id", "=", (account or self.account).id)])


_VN = timezone(timedelta(hours=7))


def vbot_group(
    phone,
    type_call="INCALL",
    disposition="ANSWER",
    when=None,
    member_no="101",
    talk=60,
    **extra,
):
    """One call group shaped as VBot's getAll sends it, dated ``when`` (aware, default now).

    The customer leg carries ``phone``; the agent leg ``member_no``. ``extra`` overrides
    top-level keys (``record_file``, ``customerName``, ...).
    """
    when = when or datetime.now(timezone.utc)
    date_create = when.astimezone(_VN).strftime("%m/%d/%Y %H:%M:%S")
    talk = talk if disposition.upper() == "ANSWER" else 0
    clock = _hms(talk)
    customer = {
        "phone": phone,
        "vbot_id": "VB-DEMO",
        "date_create": date_create,
        "disposition": disposition,
        "time_call": clock,
        "postage": 0.0,
        "duration_call": talk + 5,
        "source": "Phone",
        "member_no": "",
    }
    agent = dict(customer, phone="", member_no=member_no, source="App_SDK")
    caller, callee = ([agent], [customer]) if type_call == "OUTCALL" else ([customer], [agent])
    group = {
        "hotline_number": "842455599940",
        "date_create": date_create,
        "caller": caller,
        "callee": callee,
        "time_call": clock,
        "duration_call": _hms(talk + 5),
        "type_call": type_call,
        "group_id": uuid.uuid4().hex,
        "disposition": disposition,
        "record_file": [],
        "external_call_id": "",
    }
    group.update(extra)
    return group


def _hms(seconds):
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def push(sim, *groups):
    """Add call groups to a running simulator, kept newest first as VBot serves them."""
    state = sim.state
    with state.lock:
        state.calls.extend(groups)
        state.calls.sort(
            key=lambda g: datetime.strptime(g["date_create"], "%m/%d/%Y %H:%M:%S"),
            reverse=True,
        )
        state._reindex()  # the index of the calls, as after any change by hand
    return groups


WEBHOOK_SAMPLES = Path(_REPO) / "tests" / "webhook_samples"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


def webhook_sample(name):
    """A documented webhook body, byte for byte (``tests/webhook_samples``)."""
    return (WEBHOOK_SAMPLES / f"{name}.json").read_bytes()


def enable_webhooks(account, secret=WEBHOOK_SECRET):
    account.webhook_active = True
    account.sudo()._webhook_set_secret(secret)
    return f"/vbot_call_history/webhook/{account.sudo().webhook_uuid}"
