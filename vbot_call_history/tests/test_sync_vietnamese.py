"""Sync logs are stored as codes and read in the reader's language."""

from odoo.tests import tagged

from ..models.vbot_sync_log import MESSAGES, SUMMARY, dt
from .common import VbotCase

ENGLISH = (
    "VBot at",
    "could not be reached",
    "skipped",
    "fetched",
    "Time budget",
    "holds",
    "unreadable",
    "missing",
    "counted by VBot",
    "refused",
)


@tagged("post_install", "-at_install")
class TestSyncLogInVietnamese(VbotCase):
    sim_config = {"calls": 10, "seed": 2, "days": 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("vi_VN")
        cls.env["ir.module.module"].search(
            [("name", "=", "vbot_call_history")]
        )._update_translations(["vi_VN"])

    def test_every_log_message_is_translated(self):
        vi = self.env(context={"lang": "vi_VN"})
        for code, template in [*MESSAGES.items(), ("summary", SUMMARY)]:
            with self.subTest(code=code):
                self.assertNotEqual(vi._(template), template._translate("en_US"))

    def test_a_vietnamese_admin_reads_the_log_in_vietnamese(self):
        self.account.password = "wrong"
        failed = self.account._run_sync()
        log = self.env["vbot.sync.log"].create(
            {"account_id": self.account.id, "date_start": "2026-11-29 02:00:00"}
        )
        now = {"start": dt(log.date_start), "end": dt(log.date_start)}
        reason = {"code": "out_of_range", "p": {"field": "duration_call", "value": "10**12"}}
        log._add_event("call_skipped", "warning", call="abc-1", reason=reason)
        log._add_event("gap", "warning", missing=2, **now)
        log._add_event("budget", date=dt(log.date_start))
        log._add_event("totals_mismatch", "warning", vbot=3, odoo=1, unreadable=1, **now)
        log._add_event("error_unreachable", "error", host="open-api-h01.vbot.vn", reason="timeout")
        log._finish()
        for record in (failed, log):
            english = record.message
            vietnamese = record.with_context(lang="vi_VN").message
            self.assertNotEqual(vietnamese, english)
            for word in ENGLISH:
                self.assertNotIn(word, vietnamese, vietnamese)
        text = log.with_context(lang="vi_VN").message
        self.assertIn("abc-1", text)
        self.assertIn("duration_call", text)
        self.assertIn("29/11/2026 09:00:00", text)  # the account's time zone
        self.assertIn("open-api-h01.vbot.vn", text)
        self.account.password = "demo"
        self.account._run_sync()
        summary = self.account.with_context(lang="vi_VN").count_summary
        self.assertIn("VBot có", summary)
        self.assertNotIn("holds", summary)
