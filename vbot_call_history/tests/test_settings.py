from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import VbotCase


@tagged("post_install", "-at_install")
class TestSettings(VbotCase):
    sim_config = {"calls": 40, "seed": 2, "days": 5}

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_settings_show_the_account_without_its_secrets(self):
        values = self.env["res.config.settings"].default_get(
            ["vbot_base_url", "vbot_username", "vbot_password", "vbot_api_key", "vbot_vbot_id"]
        )
        self.assertEqual(values["vbot_base_url"], self.sim.base_url_v2)
        self.assertEqual(values["vbot_username"], "demo")
        self.assertEqual(values["vbot_vbot_id"], "VB-DEMO")
        self.assertFalse(values.get("vbot_password"))
        self.assertFalse(values.get("vbot_api_key"))
        settings = self.settings()
        self.assertTrue(settings.vbot_has_password)
        self.assertEqual(settings.vbot_account_id, self.account)

    def test_saving_settings_creates_and_updates_the_account(self):
        self.account.unlink()
        settings = self.settings(
            vbot_active=True,
            vbot_base_url=self.sim.base_url_v3,
            vbot_api_version="v3",
            vbot_api_key="demo-key",
            vbot_initial_days=7,
        )
        settings.execute()
        account = self.env["vbot.account"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(account), 1)
        self.assertEqual(account.api_version, "v3")
        self.assertEqual(account.api_key, "demo-key")
        self.assertEqual(account.initial_days, 7)
        # Saving again without typing the key keeps the stored one.
        self.settings(vbot_initial_days=9).execute()
        self.assertEqual(account.api_key, "demo-key")
        self.assertEqual(account.initial_days, 9)

    def test_without_account_settings_offer_defaults_and_create_nothing(self):
        self.account.unlink()
        values = self.env["res.config.settings"].default_get(
            [
                "vbot_active",
                "vbot_base_url",
                "vbot_api_version",
                "vbot_timezone",
                "vbot_initial_days",
            ]
        )
        self.assertFalse(values["vbot_active"])
        self.assertEqual(values["vbot_base_url"], "https://open-api-h01.vbot.vn/v2.0")
        self.assertEqual(
            (values["vbot_api_version"], values["vbot_timezone"], values["vbot_initial_days"]),
            ("v2", "Asia/Ho_Chi_Minh", 30),
        )
        self.settings().execute()
        self.assertFalse(self.env["vbot.account"].with_context(active_test=False).search([]))

    def test_test_connection_button(self):
        action = self.settings().action_vbot_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(str(len(self.sim.state.calls)), action["params"]["message"])
        settings = self.settings(vbot_password="not-the-password")
        with self.assertRaises(UserError) as error:
            settings.action_vbot_test_connection()
        self.assertNotIn("not-the-password", str(error.exception))

    def test_v3_account_connects_with_its_key(self):
        self.account.write(
            {"api_version": "v3", "base_url": self.sim.base_url_v3, "api_key": "demo-key"}
        )
        self.account._run_sync()
        self.assertEqual(self.account.last_sync_state, "ok", self.account.last_sync_message)
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))

    def test_sync_now_button(self):
        # The first sync is a backfill: the button hands it to the scheduled action.
        cron = self.env.ref("vbot_call_history.ir_cron_vbot_sync")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        action = self.settings().action_vbot_sync()
        self.assertEqual(action["params"]["type"], "info")
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1
        )
        self.assertFalse(self.calls())
        cron.method_direct_trigger()
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))
        # Later syncs run at once.
        self.sim.state.add_calls(2)
        action = self.settings().action_vbot_sync()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self.calls()), len(self.sim.state.calls))
        self.assertEqual(self.settings().vbot_last_sync_state, "ok")

    def test_secrets_are_for_system_admins_only(self):
        manager = self.env["res.users"].create(
            {
                "name": "VBot manager",
                "login": "vbot_manager",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("vbot_call_history.group_vbot_manager").id,
                            self.env.ref("base.group_user").id,
                        ],
                    )
                ],
            }
        )
        account = self.account.with_user(manager)
        self.assertNotIn("password", account.fields_get())
        self.assertNotIn("api_key", account.fields_get())
        data = account.read(["name", "base_url"])[0]
        self.assertNotIn("password", data)
        # The forms' inputs read empty even for an admin: a stored secret never goes out.
        self.assertFalse(self.account.new_password)
        self.account.new_password = "changed"
        self.assertEqual(self.account.password, "changed")
        self.assertFalse(self.account.new_password)

    def test_write_only_input_keeps_password_when_left_empty(self):
        self.account.write({"new_password": False, "name": "Renamed"})
        self.assertEqual(self.account.password, "demo")
