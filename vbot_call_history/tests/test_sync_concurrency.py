"""Defect 6 of issue 7: lock races. These tests commit, as a real run does.

The account lives in committed data (deleted at the end) and each sync runs on its own
cursor with its commits enabled, while another cursor saves the account form or starts a
second sync — what a TransactionCase alone cannot show.
"""

from unittest.mock import patch

import psycopg2
from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from ..models.vbot_account import VbotAccount
from ..models.vbot_sync_run import LOCK_NAMESPACE
from ..services.client import VBotClient
from .common import ALLOWED_HOSTS_PARAM, account_values, allow_hosts, start_simulator

_RUN = "odoo.addons.vbot_call_history.models.vbot_sync_run"
_ACCOUNT = "odoo.addons.vbot_call_history.models.vbot_account.VbotAccount"


@tagged("post_install", "-at_install")
class TestSyncConcurrency(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(calls=60, seed=21, days=3)
        cls.addClassCleanup(cls.sim.stop)

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            params = env["ir.config_parameter"]
            self.allowed_before = params.get_param(ALLOWED_HOSTS_PARAM) or ""
            allow_hosts(env, self.sim)
            company = env["res.company"].create({"name": "Concurrency test company"})
            account = env["vbot.account"].create(
                # One window of 6 pages: the form is saved between two of them.
                account_values(
                    self.sim,
                    company_id=company.id,
                    page_size=10,
                    slice_hours=24 * 5,
                    initial_days=4,
                )
            )
            self.company_id, self.account_id = company.id, account.id
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self.cleanup)
        self.real_commits = patch(f"{_RUN}._testing", return_value=False)
        self.real_commits.start()
        self.addCleanup(self.real_commits.stop)

    def cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account = env["vbot.account"].browse(self.account_id)
            env["vbot.call"].search([("account_id", "=", self.account_id)]).unlink()
            account.write({"last_sync_log_id": False, "last_deep_check_log_id": False})
            account.unlink()
            env["res.company"].browse(self.company_id).unlink()
            env["ir.config_parameter"].set_param(ALLOWED_HOSTS_PARAM, self.allowed_before)
            cr.commit()  # pylint: disable=invalid-commit

    def sync(self, origin="button"):
        """Sync on a cursor of its own, committing as a real run does."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            log = env["vbot.account"].browse(self.account_id)._run_sync("sync", origin)
            result = (log.id, log.state, log.message) if log else (False, False, False)
            cr.commit()  # pylint: disable=invalid-commit
            return result

    def query(self, query, params=()):
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def during_the_sync(self, action, on_page=1):
        """Run ``action`` when the sync asks VBot for its ``on_page``-th page."""
        original = VBotClient.fetch_page
        calls = []

        def fetch_page(client, *args, **kwargs):
            calls.append(1)
            if len(calls) == on_page:
                action()
            return original(client, *args, **kwargs)

        return patch.object(VBotClient, "fetch_page", fetch_page)

    def test_defect_6_saving_the_form_during_a_sync_never_interrupts_it(self):
        form = self.registry.cursor()
        self.addCleanup(form.close)

        def open_the_save():  # the form's transaction holds the account's row ...
            form.execute(
                "UPDATE vbot_account SET name = 'Saved by the form' WHERE id = %s",
                [self.account_id],
            )

        def finish_the_save():  # ... past a commit of the sync, then commits
            form.commit()

        with self.during_the_sync(open_the_save, 1), self.during_the_sync(finish_the_save, 2):
            _log_id, state, message = self.sync()

        self.assertEqual(state, "ok", message)
        self.assertNotIn("took over", message)
        [(name, watermark)] = self.query(
            "SELECT name, sync_watermark FROM vbot_account WHERE id = %s", [self.account_id]
        )
        self.assertEqual(name, "Saved by the form")
        self.assertTrue(watermark)
        [(count,)] = self.query(
            "SELECT count(*) FROM vbot_call WHERE account_id = %s", [self.account_id]
        )
        self.assertEqual(count, len(self.sim.state.calls))

    def test_defect_6_a_second_sync_during_a_sync_is_skipped_not_a_takeover(self):
        second = []

        def start_another_sync():
            second.append(self.sync(origin="schedule"))

        with self.during_the_sync(start_another_sync, 2):
            _log_id, state, message = self.sync()

        self.assertEqual(second, [(False, False, False)])  # skipped: no log, no error
        self.assertEqual(state, "ok", message)
        logs = self.query(
            "SELECT state FROM vbot_sync_log WHERE account_id = %s", [self.account_id]
        )
        self.assertEqual(logs, [("ok",)])

    def test_defect_6_a_serialization_failure_on_the_watermark_is_retried(self):
        # The function patched below (a module may extend write in another class).
        original = VbotAccount.write
        concurrent = []

        def write(account, vals):
            if "sync_watermark" in vals and not concurrent:
                # A form saved between the sync's read of the row and its write.
                with self.registry.cursor() as form:
                    form.execute(
                        "UPDATE vbot_account SET name = 'Saved meanwhile' WHERE id = %s",
                        [self.account_id],
                    )
                    form.commit()
                concurrent.append(1)
            return original(account, vals)

        failures = []
        original_commit = None

        with patch(f"{_ACCOUNT}.write", write):
            from odoo.sql_db import Cursor

            original_commit = Cursor.commit

            def commit(cr):
                try:
                    return original_commit(cr)
                except psycopg2.errors.SerializationFailure:
                    failures.append(1)
                    raise

            with patch.object(Cursor, "commit", commit):
                _log_id, state, message = self.sync()

        self.assertEqual(concurrent, [1])
        self.assertEqual(failures, [1])  # PostgreSQL refused the first write ...
        self.assertEqual(state, "ok", message)  # ... the sync wrote again and went on
        [(name, watermark)] = self.query(
            "SELECT name, sync_watermark FROM vbot_account WHERE id = %s", [self.account_id]
        )
        self.assertEqual(name, "Saved meanwhile")
        self.assertTrue(watermark)

    def test_a_killed_run_leaves_its_log_to_be_marked_interrupted(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            dead = env["vbot.sync.log"].create(
                {"account_id": self.account_id, "date_start": "2026-01-01 00:00:00"}
            )
            dead_id = dead.id
            cr.commit()  # pylint: disable=invalid-commit
        _log_id, state, message = self.sync()
        self.assertEqual(state, "ok", message)
        [(dead_state,)] = self.query("SELECT state FROM vbot_sync_log WHERE id = %s", [dead_id])
        self.assertEqual(dead_state, "interrupted")

    def test_the_lock_is_released_after_each_run(self):
        self.sync()
        [(free, released)] = self.query(
            "SELECT pg_try_advisory_lock(%s, %s), pg_advisory_unlock(%s, %s)",
            [LOCK_NAMESPACE, self.account_id] * 2,
        )
        self.assertTrue(free and released)
