import importlib.util
from pathlib import Path

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import ALLOWED_HOSTS_PARAM, allow_hosts


def load_migration(name):
    path = Path(__file__).resolve().parents[1] / "migrations" / "18.0.2.0.0" / name
    spec = importlib.util.spec_from_file_location(f"vbot_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestSecurityMigration(TransactionCase):
    def account(self, name, url, state=None):
        company = self.env["res.company"].create({"name": name})
        account = self.env["vbot.account"].create(
            {"name": name, "company_id": company.id, "base_url": url, "username": "u"}
        )
        account.password = "p"
        if state:
            account.last_sync_log_id = self.env["vbot.sync.log"].create(
                {"account_id": account.id, "date_start": fields.Datetime.now(), "state": state}
            )
        return account

    def test_an_upgrade_keeps_working_accounts_working(self):
        migration = load_migration("post-security.py")
        self.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        params = self.env["ir.config_parameter"].sudo()
        allow_hosts(self.env, "127.0.0.1:8765", "127.0.0.1:9999", "sim.internal:8080")
        working = self.account("Working", "http://127.0.0.1:8765/v2.0", "ok")
        warned = self.account("Warned", "http://sim.internal:8080/v2.0", "warning")
        failing = self.account("Failing", "http://127.0.0.1:9999/v2.0", "error")
        never = self.account("Never", "http://127.0.0.1:9999/v3.0")
        vbot = self.account("VBot", "https://open-api-h01.vbot.vn/v2.0", "ok")
        tricky = self.account("Tricky", "http://127.0.0.1:8765/v2.0", "ok")
        # Saved before this version, when any URL went: a user part the parser refuses.
        self.env.cr.execute(
            "UPDATE vbot_account SET base_url = %s WHERE id = %s",
            ["http://user:pw@127.0.0.1:7777/v2.0", tricky.id],
        )
        params.set_param(ALLOWED_HOSTS_PARAM, "relay.example.com")  # the state before

        migration.migrate(self.env.cr, "18.0.1.0.0")
        migration.migrate(self.env.cr, "18.0.1.0.0")  # idempotent

        value = params.get_param(ALLOWED_HOSTS_PARAM)
        self.assertEqual(
            value.split(),
            ["relay.example.com", "http://127.0.0.1:8765", "http://sim.internal:8080"],
        )
        self.assertTrue(working._make_client())
        self.assertTrue(warned._make_client())
        self.assertTrue(vbot._make_client())
        for refused in (failing, never):
            with self.assertRaises(UserError) as error:
                refused._make_client()
            self.assertIn(ALLOWED_HOSTS_PARAM, str(error.exception))
        tricky.invalidate_recordset()
        with self.assertRaises(UserError) as error:
            tricky._make_client()
        self.assertNotIn("pw", str(error.exception))

    def test_a_new_install_does_nothing(self):
        migration = load_migration("post-security.py")
        before = self.env["ir.config_parameter"].sudo().get_param(ALLOWED_HOSTS_PARAM)
        migration.migrate(self.env.cr, None)
        self.assertEqual(
            self.env["ir.config_parameter"].sudo().get_param(ALLOWED_HOSTS_PARAM), before
        )
