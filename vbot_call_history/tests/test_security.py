"""Who may sync, where credentials may go, what a caller can read: tested over HTTP.

Every call goes through Odoo's JSON-RPC (``/web/dataset/call_kw``) or the recording proxy,
as a browser (or an attacker with a session) would send it. The simulators count the
requests they receive, and a "foreign" listener stands for a host nobody configured.
"""

import inspect
import json
import logging
import re

from odoo.models import regex_private
from odoo.tests import HttpCase, new_test_user, tagged

from ..models import vbot_account
from .common import (
    ALLOWED_HOSTS_PARAM,
    account_values,
    allow_hosts,
    hostile,
    start_foreign,
    start_simulator,
)

ADDON_MODULE = "odoo.addons.vbot_call_history."

# Public methods of this addon that need no guard, and why. Everything else a browser can
# call must check its caller first (vbot.account._check_vbot_caller) or be private (_name).
# See README, "Security".
HARMLESS = {
    ("vbot.account", "create"): "ORM create: ACL (VBot Manager) and record rules apply; an "
    "API URL other than VBot's default needs a system administrator (checked in create)",
    ("vbot.account", "write"): "ORM write: ACL and record rules apply; changing the API URL "
    "or the authentication needs a system administrator (checked in write)",
    ("res.partner", "create"): "ORM: ACL and rules apply before calls are re-matched",
    ("res.partner", "write"): "ORM: ACL and rules apply before calls are re-matched",
    ("res.partner", "unlink"): "ORM: ACL and rules apply before calls are re-matched",
    ("res.partner", "action_vbot_open_calls"): "returns a window action; the calls it lists "
    "follow ACLs and record rules",
    ("res.config.settings", "get_values"): "fills the VBot values for system administrators "
    "only (test_settings_values_are_for_system_administrators)",
    ("res.partner", "name_search"): "ORM name_search: ACL and rules apply; it only puts the "
    "contacts sharing a number first",
    ("mail.activity", "unlink"): "ORM: mail's own access rules apply before a Call back "
    "activity closed by hand clears its contact's missed calls",
    ("vbot.member", "create"): "ORM: ACL (VBot Manager) and company rules apply before the "
    "agent's calls are re-linked",
    ("vbot.member", "write"): "ORM: ACL (VBot Manager) and company rules apply before the "
    "agent's calls are re-linked",
    ("vbot.member", "unlink"): "ORM: ACL (VBot Manager) and company rules apply",
    ("vbot.number.link", "create"): "ORM: no one but the superuser may create (ACL); the "
    "number dialog checks its caller, then creates with sudo",
    ("vbot.number.link", "write"): "ORM: no one but the superuser may write (ACL)",
    ("vbot.number.link", "unlink"): "ORM: ACL (VBot Manager) and company rules apply",
    ("vbot.number.actions", "action_create_contact"): "abstract model without records or "
    "fields (it checks its caller, then fails): reached through vbot.call and "
    "vbot.unknown.number, which inherit it and are tested below",
    ("vbot.number.actions", "action_link_contact"): "abstract model without records or "
    "fields, as above",
    ("vbot.unknown.number", "action_open_create_contact"): "needs a VBot User (checked); "
    "returns the create-contact dialog for a number in the caller's own current company, "
    "which checks its caller again when confirmed",
}
# Public methods a VBot User may call (on the data of the companies they work in); every
# other guarded method needs a VBot Manager or a system administrator.
OPEN_TO_VBOT_USERS = {
    ("res.partner", "action_vbot_fetch_calls"),
    ("vbot.account", "vbot_incoming_card"),
    ("res.partner", "action_vbot_choose_number"),
    ("vbot.call", "action_create_contact"),
    ("vbot.call", "action_link_contact"),
    ("vbot.unknown.number", "action_create_contact"),
    ("vbot.unknown.number", "action_link_contact"),
    ("vbot.unknown.number", "action_open_calls"),
    ("vbot.number.assign", "action_confirm"),
}

PASSWORD, API_KEY, WRONG = "Pa55-s3cret-A", "K3y-s3cret-A", "Wr0ng-s3cret-A"


def addon_public_methods(registry):
    """{(model, method): function} of every RPC-callable method this addon defines."""
    found = {}
    for model_name, model_class in sorted(registry.models.items()):
        for klass in model_class.__mro__:
            if not klass.__module__.startswith(ADDON_MODULE):
                continue
            for name, value in vars(klass).items():
                if inspect.isfunction(value) and not regex_private.match(name):
                    found.setdefault((model_name, name), value)
    return found


class RpcMixin:
    def rpc(self, login, model, method, args, kwargs=None):
        """call_kw as ``login`` (its password is its login); the decoded JSON answer."""
        if login != getattr(self, "_rpc_login", None):
            self.authenticate(login, login)
            self._rpc_login = login
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        }
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.answers.append(response.text)
        return response.json()

    @staticmethod
    def error_name(answer):
        return (answer.get("error") or {}).get("data", {}).get("name", "")


class SecurityCase(RpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(calls=40, seed=11, days=5, password=PASSWORD, api_key=API_KEY)
        cls.sim_b = start_simulator(calls=10, seed=12, days=5)
        cls.foreign = start_foreign()
        for stop in (cls.sim.stop, cls.sim_b.stop, cls.foreign.stop):
            cls.addClassCleanup(stop)
        allow_hosts(cls.env, cls.sim, cls.sim_b)
        Account = cls.env["vbot.account"].with_context(active_test=False)
        Account.search([]).unlink()
        cls.company = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Công ty B"})
        cls.account = Account.create(account_values(cls.sim, password=PASSWORD, api_key=API_KEY))
        cls.account_b = Account.create(account_values(cls.sim_b, company_id=cls.company_b.id))
        # Synced once (a first sync is a backfill the scheduled job runs): Sync now then
        # runs at once.
        cls.account._run_sync()
        cls.account_b._run_sync()
        customer = cls.sim.state.customers[0]
        cls.partner = cls.env["res.partner"].create(
            {"name": customer["name"], "phone": customer["phone"], "company_id": cls.company.id}
        )
        cls.call = cls.env["vbot.call"].search([("account_id", "=", cls.account.id)], limit=1)
        user_groups = "base.group_user,vbot_call_history.group_vbot_user"
        manager_groups = "base.group_user,vbot_call_history.group_vbot_manager"
        new_test_user(cls.env, "sec_portal", groups="base.group_portal")
        new_test_user(cls.env, "sec_internal", groups="base.group_user")
        cls.vbot_user = new_test_user(cls.env, "sec_vbot_user", groups=user_groups)
        new_test_user(cls.env, "sec_manager", groups=manager_groups)
        new_test_user(
            cls.env,
            "sec_manager_b",
            groups=manager_groups,
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.settings = cls.env["res.config.settings"].create({})
        cls.member = cls.env["vbot.member"].create(
            {"account_id": cls.account.id, "member_no": "101"}
        )
        cls.assign = cls.env["vbot.number.assign"].create(
            {
                "mode": "create",
                "company_id": cls.company.id,
                "customer_key": "+84911222333",
                "name": "Anh Đạt",
            }
        )
        cls.unknown = cls.env["vbot.unknown.number"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )

    def setUp(self):
        super().setUp()
        self.answers = []
        self._rpc_login = None

    def sent(self):
        """Requests received so far by both simulators and the foreign listener."""
        return (
            len(self.sim.state.requests)
            + len(self.sim_b.state.requests)
            + len(self.foreign.requests)
        )


@tagged("post_install", "-at_install")
class TestWhoMaySync(SecurityCase):
    def test_every_public_method_is_guarded_or_harmless(self):
        """Every RPC-callable method of the addon refuses callers without the right.

        Found by introspection, so a method added later is tested too: a portal user, an
        internal user without VBot rights, a VBot User and a VBot Manager of another
        company each call it and get an AccessError, with no request sent anywhere.
        """
        methods = addon_public_methods(self.registry)
        self.assertFalse(
            set(HARMLESS) - set(methods), "HARMLESS names methods that no longer exist"
        )
        records = {
            "vbot.account": self.account.ids,
            "vbot.call": self.call.ids,
            "vbot.sync.log": self.account.last_sync_log_id.ids,
            "res.partner": self.partner.ids,
            "res.users": self.vbot_user.ids,
            "res.config.settings": self.settings.ids,
            "vbot.member": self.member.ids,
            "vbot.number.assign": self.assign.ids,
            "vbot.unknown.number": self.unknown.ids,
        }
        failures, checked = [], set()
        for (model, name), function in sorted(methods.items()):
            if (model, name) in HARMLESS:
                continue
            ids = records.get(model) or self.env[model].sudo().search([], limit=1).ids
            args = [] if getattr(function, "_api", None) in ("model", "model_create") else [ids]
            for login in ("sec_portal", "sec_internal", "sec_vbot_user", "sec_manager_b"):
                if login == "sec_vbot_user" and (model, name) in OPEN_TO_VBOT_USERS:
                    continue
                before = self.sent()
                answer = self.rpc(login, model, name, args)
                if self.error_name(answer) != "odoo.exceptions.AccessError":
                    failures.append(f"{model}.{name} by {login}: {str(answer)[:200]}")
                if self.sent() != before:
                    failures.append(f"{model}.{name} by {login}: {self.sent() - before} requests")
                checked.add((model, name))
        self.assertFalse(
            failures,
            "A public method must check its caller first (vbot.account._check_vbot_caller), "
            "be private (_name), or be listed in HARMLESS with a reason (README, Security):\n"
            + "\n".join(failures),
        )
        for expected in (
            ("vbot.account", "action_sync"),
            ("vbot.account", "action_test_connection"),
            ("vbot.account", "action_open_calls"),
            ("res.partner", "action_vbot_fetch_calls"),
            ("res.config.settings", "action_vbot_sync"),
            ("res.config.settings", "action_vbot_test_connection"),
            ("res.config.settings", "set_values"),
            ("vbot.account", "action_sync_members"),
            ("vbot.member", "action_apply_suggestions"),
            ("vbot.unknown.number", "action_create_contact"),
            ("vbot.number.assign", "action_confirm"),
            ("vbot.call", "action_link_contact"),
        ):
            self.assertIn(expected, checked)

    def test_those_with_the_right_can(self):
        before = len(self.sim.state.requests)
        answer = self.rpc(
            "sec_manager", "vbot.account", "action_test_connection", [self.account.ids]
        )
        self.assertEqual(answer["result"]["params"]["type"], "success", answer)
        answer = self.rpc("sec_manager", "vbot.account", "action_sync", [self.account.ids])
        self.assertIn(answer["result"]["params"]["type"], ("success", "warning"), answer)
        self.assertGreater(len(self.sim.state.requests), before)
        before = len(self.sim.state.requests)
        answer = self.rpc(
            "sec_vbot_user", "res.partner", "action_vbot_fetch_calls", [self.partner.ids]
        )
        self.assertEqual(answer["result"]["params"]["type"], "success", answer)
        self.assertGreater(len(self.sim.state.requests), before)
        # A manager of company B syncs B's account; it is A's they cannot reach.
        before = len(self.sim_b.state.requests)
        answer = self.rpc("sec_manager_b", "vbot.account", "action_sync", [self.account_b.ids])
        self.assertIn(answer["result"]["params"]["type"], ("success", "warning"), answer)
        self.assertGreater(len(self.sim_b.state.requests), before)
        # The recording proxy serves a VBot User of the call's company.
        self.authenticate("sec_vbot_user", "sec_vbot_user")
        recorded = self.env["vbot.call"].search(
            [("account_id", "=", self.account.id), ("has_recording", "=", True)], limit=1
        )
        response = self.url_open(f"/vbot_call_history/recording/{recorded.id}")
        self.assertEqual(response.status_code, 200)

    def test_settings_values_are_for_system_administrators(self):
        for login in ("sec_portal", "sec_internal", "sec_manager"):
            answer = self.rpc(login, "res.config.settings", "get_values", [])
            self.assertNotIn("vbot_username", json.dumps(answer), login)
            self.assertNotIn(self.sim.url, json.dumps(answer), login)
        answer = self.rpc("admin", "res.config.settings", "get_values", [])
        self.assertEqual(answer["result"]["vbot_base_url"], self.sim.base_url_v2)


@tagged("post_install", "-at_install")
class TestWhereCredentialsGo(SecurityCase):
    def write_as(self, login, values, account=None):
        return self.rpc(login, "vbot.account", "write", [(account or self.account).ids, values])

    def test_vbot_manager_cannot_move_the_account(self):
        before = self.sent()
        for values in (
            {"base_url": self.foreign.url + "/v2.0"},
            {"base_url": "https://open-api-h02.vbot.vn/v2.0"},
            {"api_version": "v3"},
            {"base_url": self.foreign.url + "/v3.0", "api_version": "v3"},
        ):
            answer = self.write_as("sec_manager", values)
            self.assertEqual(self.error_name(answer), "odoo.exceptions.AccessError", values)
        answer = self.rpc(
            "sec_manager",
            "vbot.account",
            "create",
            [{"name": "Mine", "base_url": self.foreign.url + "/v2.0"}],
        )
        self.assertEqual(self.error_name(answer), "odoo.exceptions.AccessError")
        self.account.invalidate_recordset()
        self.assertEqual(self.account.base_url, self.sim.base_url_v2)
        self.assertEqual(self.account.password, PASSWORD)
        # Sync settings stay theirs; then a sync goes to the configured server only.
        answer = self.write_as("sec_manager", {"page_size": 50, "name": "VBot A"})
        self.assertTrue(answer.get("result"), answer)
        self.rpc("sec_manager", "vbot.account", "action_test_connection", [self.account.ids])
        self.assertFalse(self.foreign.requests)
        self.assertGreater(self.sent(), before)

    def test_administrator_sets_only_allowed_hosts(self):
        refused = [
            "https://evil.example.com/v2.0",
            "http://open-api-h01.vbot.vn/v2.0",
            "https://open-api-h01.vbot.vn.evil.example/v2.0",
            self.foreign.url + "/v2.0",
            f"http://localhost:{self.sim.port}/v2.0",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3/v2.0",
            "https://[::1]/v2.0",
            "https://user:pw@open-api-h01.vbot.vn/v2.0",
            f"{self.sim.url}\\@{self.foreign.url[7:]}/v2.0",
        ]
        for url in refused:
            answer = self.write_as("admin", {"base_url": url})
            self.assertEqual(self.error_name(answer), "odoo.exceptions.ValidationError", url)
            self.assertNotIn("pw@", answer["error"]["data"]["message"])
        # A host name trusted only through a wildcard must resolve to a public address.
        allow_hosts(self.env, f"*.localhost:{self.sim.port}")
        answer = self.write_as("admin", {"base_url": f"http://localhost:{self.sim.port}/v2.0"})
        self.assertEqual(self.error_name(answer), "odoo.exceptions.ValidationError")
        self.assertIn("127.0.0.1", answer["error"]["data"]["message"])
        self.assertIn(ALLOWED_HOSTS_PARAM, answer["error"]["data"]["message"])
        self.account.invalidate_recordset()
        self.assertEqual(self.account.base_url, self.sim.base_url_v2)
        self.assertEqual(self.account.password, PASSWORD)
        # Another host once an administrator allowed it; the secrets stay behind.
        allow_hosts(self.env, self.foreign)
        answer = self.write_as("admin", {"base_url": self.foreign.url + "/v2.0"})
        self.assertTrue(answer.get("result"), answer)
        self.account.invalidate_recordset()
        self.assertFalse(self.account.password)
        self.assertFalse(self.account.api_key)
        answer = self.rpc("admin", "vbot.account", "action_test_connection", [self.account.ids])
        self.assertEqual(self.error_name(answer), "odoo.exceptions.UserError")
        self.assertFalse(self.foreign.requests)
        # A new password typed in the same write is kept.
        answer = self.write_as(
            "admin", {"base_url": self.sim.base_url_v2, "new_password": PASSWORD}
        )
        self.assertTrue(answer.get("result"), answer)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.password, PASSWORD)
        answer = self.rpc("admin", "vbot.account", "action_test_connection", [self.account.ids])
        self.assertEqual(answer["result"]["params"]["type"], "success", answer)
        # VBot's own servers are fine (a name that does not resolve here is not refused).
        answer = self.write_as("admin", {"base_url": "https://open-api-h02.vbot.vn/v2.0"})
        self.assertTrue(answer.get("result"), answer)

    def test_the_form_shows_the_url_read_only_to_vbot_managers(self):
        view = self.env.ref("vbot_call_history.vbot_account_view_form")
        for login, readonly in (("sec_manager", True), ("admin", False)):
            user = self.env["res.users"].search([("login", "=", login)])
            arch = self.env["vbot.account"].with_user(user).get_view(view.id)["arch"]
            for name in ("base_url", "api_version"):
                nodes = re.findall(rf'<field name="{name}"[^>]*>', arch)
                self.assertEqual(len(nodes), 1, (login, nodes))
                self.assertEqual(
                    'readonly="1"' in nodes[0] or 'readonly="True"' in nodes[0], readonly
                )

    def test_changing_the_authentication_forgets_the_secrets(self):
        self.account.write({"api_version": "v3", "base_url": self.sim.base_url_v3})
        self.assertFalse(self.account.password)
        self.assertFalse(self.account.api_key)
        self.account.write({"api_version": "v2", "base_url": self.sim.base_url_v2})
        self.account.write({"new_api_key": API_KEY, "api_version": "v3"})
        self.assertEqual(self.account.api_key, API_KEY)
        self.assertFalse(self.account.password)
        self.account.write({"name": "Renamed", "base_url": self.account.base_url})
        self.assertEqual(self.account.api_key, API_KEY)  # not a change: nothing forgotten

    def test_secrets_stay_secret(self):
        """After failures, no password, key or token in a log, a message or an RPC answer."""
        records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = records.append
        logger = logging.getLogger("odoo.addons.vbot_call_history")
        old_level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.removeHandler, handler)
        self.addCleanup(logger.setLevel, old_level)

        manager = "sec_manager"
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        token = vbot_account._TOKENS[self.account.id]
        secrets = {PASSWORD, API_KEY, WRONG, token["access_token"], token["refresh_token"]}
        # An outage (VBot keeps answering 429), then refused credentials.
        self.sim.state.set_faults(queue=["429"] * 12, retry_after=0)
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        self.rpc(manager, "vbot.account", "action_test_connection", [self.account.ids])
        self.sim.state.set_faults()
        self.account.new_password = WRONG
        self.rpc(manager, "vbot.account", "action_test_connection", [self.account.ids])
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        # The same with the API key (v3), then a server that redirects elsewhere.
        self.account.write(
            {"api_version": "v3", "base_url": self.sim.base_url_v3, "new_api_key": API_KEY}
        )
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        self.account.new_api_key = WRONG
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        allow_hosts(self.env, self.foreign)  # even an allowed host: never followed
        self.account.new_api_key = API_KEY
        redirects = self.sim.state.request_count()
        self.sim.state.set_faults(queue=["redirect"] * 3, redirect_to=self.foreign.url + "/steal")
        self.rpc(manager, "vbot.account", "action_test_connection", [self.account.ids])
        self.rpc(manager, "vbot.account", "action_sync", [self.account.ids])
        self.authenticate("sec_vbot_user", "sec_vbot_user")
        self._rpc_login = None
        recorded = self.env["vbot.call"].search([("has_recording", "=", True)], limit=1)
        response = self.url_open(f"/vbot_call_history/recording/{recorded.id}")
        self.assertEqual(response.status_code, 404)
        self.answers.append(response.text)
        self.assertEqual(self.sim.state.request_count() - redirects, 3)
        self.assertFalse(self.sim.state.faults.queue)  # all three redirects were answered
        self.assertFalse(self.foreign.requests)
        # What a VBot Manager can read of the accounts and logs.
        account_fields = list(
            self.rpc(manager, "vbot.account", "fields_get", [], {"attributes": ["type"]})["result"]
        )
        self.rpc(manager, "vbot.account", "search_read", [[], account_fields])
        log_fields = list(
            self.rpc(manager, "vbot.sync.log", "fields_get", [], {"attributes": ["type"]})["result"]
        )
        logs = self.rpc(manager, "vbot.sync.log", "search_read", [[], log_fields])["result"]
        self.assertGreaterEqual(len(logs), 6)
        self.assertTrue(any(log["state"] == "error" for log in logs))

        texts = {
            "RPC answers": "\n".join(self.answers),
            "log lines": "\n".join(record.getMessage() for record in records),
            "sync logs": "\n".join(
                f"{log.message}\n{log.error}" for log in self.env["vbot.sync.log"].search([])
            ),
        }
        self.assertIn("429", texts["sync logs"])
        self.assertTrue(records)
        for where, text in texts.items():
            for secret in secrets | {"Bearer"}:
                self.assertNotIn(secret, text, f"a secret in the {where}")


@tagged("post_install", "-at_install")
class TestRecordingProxyCannotBeSteered(SecurityCase):
    def test_hostile_recording_urls_answer_404_and_reach_nothing(self):
        call = self.env["vbot.call"].search(
            [("account_id", "=", self.account.id), ("has_recording", "=", True)], limit=1
        )
        url = f"/vbot_call_history/recording/{call.id}"
        # Even an allowed host gets no credentials unless it is the account's own server.
        allow_hosts(self.env, self.foreign)
        self.authenticate("sec_vbot_user", "sec_vbot_user")
        self.assertEqual(self.url_open(url).status_code, 200)
        played = [p for _m, p, _q in self.sim.state.requests if "/record/" in p]
        failures = []
        for hostile_url in hostile.hostile_urls(self.sim.port, self.foreign.port, call.external_id):
            if "\x00" in hostile_url:
                continue  # PostgreSQL cannot store it: no payload can bring it here
            call.sudo().recording_urls = [hostile_url]
            status = self.url_open(url).status_code
            if status != 404:
                failures.append(f"{hostile_url!r}: {status}")
        self.assertFalse(failures, "\n".join(failures))
        self.assertFalse(self.foreign.requests)
        # Nothing but the account's server was asked, and never for the recording again.
        self.assertEqual([p for _m, p, _q in self.sim.state.requests if "/record/" in p], played)

    def test_only_vbot_users_of_the_company_hear_it(self):
        call = self.env["vbot.call"].search(
            [("account_id", "=", self.account.id), ("has_recording", "=", True)], limit=1
        )
        before = self.sent()
        for login in ("sec_portal", "sec_internal", "sec_manager_b"):
            self.authenticate(login, login)
            response = self.url_open(f"/vbot_call_history/recording/{call.id}")
            self.assertEqual(response.status_code, 404, login)
        self.assertEqual(self.sent(), before)

    def test_a_server_that_redirects_gets_no_second_chance(self):
        """VBot's server answers the recording with a 302 elsewhere: 404, nothing follows."""
        allow_hosts(self.env, self.foreign)  # even an allowed host: never followed
        call = self.env["vbot.call"].search(
            [("account_id", "=", self.account.id), ("has_recording", "=", True)], limit=1
        )
        self.authenticate("sec_vbot_user", "sec_vbot_user")
        url = f"/vbot_call_history/recording/{call.id}"
        self.assertEqual(self.url_open(url).status_code, 200)  # token now cached
        for recording_urls in (call.recording_urls, False):  # payload URL, or account + id
            call.recording_urls = recording_urls
            self.sim.state.set_faults(queue=["redirect"], redirect_to=self.foreign.url + "/x")
            before = self.sim.state.request_count("/record/")
            self.assertEqual(self.url_open(url).status_code, 404)
            self.assertEqual(self.sim.state.request_count("/record/"), before + 1)
            self.assertFalse(self.sim.state.faults.queue)
        self.assertFalse(self.foreign.requests)
