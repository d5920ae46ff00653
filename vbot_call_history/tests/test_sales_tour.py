from datetime import datetime, timedelta, timezone

from odoo.tests import HttpCase, new_test_user, tagged

from .common import account_values, allow_hosts, start_simulator, vbot_group


def ago(**delta):
    return datetime.now(timezone.utc) - timedelta(**delta)


@tagged("post_install", "-at_install")
class TestSalesTour(HttpCase):
    """A salesperson in the browser: My missed calls -> the contact -> back; then Create
    contact from an unknown number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = [
            ("0912345678", "MISSCALL", "MISSCALL", ago(minutes=40), {}),
            ("84912345678", "INCALL", "NOANSWER", ago(minutes=20), {}),
            ("0911222333", "INCALL", "ANSWER", ago(hours=3), {}),
            ("0911222333", "OUTCALL", "NOANSWER", ago(hours=2), {}),
            ("0911222333", "MISSCALL", "MISSCALL", ago(hours=1), {"customerName": "Anh Đạt"}),
        ]
        cls.sim = start_simulator(
            data=[vbot_group(p, t, d, when=w, **x) for p, t, d, w, x in reversed(groups)]
        )
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        cls.account = cls.env["vbot.account"].create(account_values(cls.sim))
        cls.salesperson = new_test_user(
            cls.env,
            "sales_tour",
            groups="base.group_user,base.group_partner_manager,vbot_call_history.group_vbot_user",
            name="Trần Thị Lan",
            tz="Asia/Ho_Chi_Minh",
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Phạm Minh Khôi", "phone": "0912 345 678", "user_id": cls.salesperson.id}
        )
        cls.account._run_sync()

    def test_missed_calls_to_contact_and_unknown_number_to_contact(self):
        self.assertEqual(len(self.env["vbot.call"].search([])), 5)
        self.start_tour("/odoo", "vbot_call_history_sales_tour", login="sales_tour")
        partner = self.env["res.partner"].search([("name", "=", "Anh Đạt - Hải Phòng")])
        self.assertEqual(partner.mobile, "0911 222 333")
        self.assertEqual(partner.vbot_call_count, 3)
        self.assertEqual(partner.user_id, self.salesperson)
