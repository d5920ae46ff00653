"""Test connection tests what is typed, before it is saved, and says what went wrong."""

from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import VbotCase, allow_hosts, start_simulator


@tagged("post_install", "-at_install")
class TestTestConnection(VbotCase):
    sim_config = {"calls": 30, "seed": 4, "days": 3}

    def setUp(self):
        super().setUp()
        self.sim.state.set_faults()
        self.sim.state.clear_requests()

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_settings_test_the_typed_values_without_saving_them(self):
        self.account._run_sync()
        watermark = self.account.sync_watermark
        allow_hosts(self.env, "127.0.0.1:9")
        settings = self.settings(vbot_base_url="http://127.0.0.1:9/v2.0", vbot_password="demo")
        with patch("time.sleep"), self.assertRaises(UserError) as error:
            settings.action_vbot_test_connection()
        self.assertIn("VBot at 127.0.0.1 could not be reached", str(error.exception))
        # Nothing was saved: the account still syncs from where it was.
        self.assertEqual(self.account.base_url, self.sim.base_url_v2)
        self.assertEqual(self.account.sync_watermark, watermark)

    def test_a_typed_password_is_tested_not_saved(self):
        self.account.password = "wrong"
        action = self.settings(vbot_password="demo").action_vbot_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(str(len(self.sim.state.calls)), action["params"]["message"])
        self.assertEqual(self.account.password, "wrong")

    def test_the_account_form_tests_its_unsaved_values(self):
        action = self.account.action_test_connection_values(
            {"base_url": self.sim.base_url_v3, "api_version": "v3", "new_api_key": "demo-key"}
        )
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.account.api_version, "v2")
        self.assertFalse(self.account.api_key)
        # A new account, not saved yet.
        action = self.env["vbot.account"].action_test_connection_values(
            {
                "base_url": self.sim.base_url_v2,
                "username": "demo",
                "new_password": "demo",
                "vbot_id": "VB-DEMO",
                "project_code": "PR-DEMO",
            }
        )
        self.assertEqual(action["params"]["type"], "success")

    def test_a_stored_password_never_goes_to_a_typed_address(self):
        other = start_simulator(calls=5, seed=1, days=1)
        self.addCleanup(other.stop)
        allow_hosts(self.env, other)
        with self.assertRaises(UserError) as error:
            self.account.action_test_connection_values({"base_url": other.base_url_v2})
        self.assertIn("username and password", str(error.exception))
        self.assertFalse(other.state.requests)

    def test_a_stored_password_never_goes_to_another_scheme_of_the_same_host(self):
        # Same host and port, https instead of http: another origin, so no stored secret.
        other_scheme = self.sim.base_url_v2.replace("http://", "https://")
        allow_hosts(self.env, other_scheme.split("/v2.0")[0])
        with self.assertRaises(UserError) as error:
            self.account.action_test_connection_values({"base_url": other_scheme})
        self.assertIn("username and password", str(error.exception))
        self.assertFalse(self.sim.state.requests)

    def test_refused_credentials_are_said_so(self):
        with self.assertRaises(UserError) as error:
            self.account.action_test_connection_values({"new_password": "not-it"})
        self.assertIn("refused the credentials", str(error.exception))
        self.assertNotIn("not-it", str(error.exception))

    def test_an_unreadable_answer_is_said_so(self):
        self.sim.state.set_faults(malformed_rate=1.0)
        with patch("time.sleep"), self.assertRaises(UserError) as error:
            self.account.action_test_connection()
        self.assertIn("answered something unreadable", str(error.exception))

    def test_testing_typed_values_is_for_vbot_managers(self):
        clerk = self.env["res.users"].create(
            {
                "name": "Clerk",
                "login": "clerk_connection",
                "groups_id": [(6, 0, self.env.ref("base.group_user").ids)],
            }
        )
        with self.assertRaises(AccessError):
            self.env["vbot.account"].with_user(clerk).action_test_connection_values(
                {"base_url": self.sim.base_url_v2, "username": "demo", "new_password": "demo"}
            )
        self.assertFalse(self.sim.state.requests)
