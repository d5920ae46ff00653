from datetime import datetime, timezone

from odoo.tests import TransactionCase, new_test_user, tagged

from ..services.mapping import CALL_TYPES, DISPOSITIONS
from .common import account_values, allow_hosts, start_simulator, vbot_group


@tagged("post_install", "-at_install")
class TestVietnamese(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("vi_VN")
        cls.env["ir.module.module"].search(
            [("name", "=", "vbot_call_history")]
        )._update_translations(["vi_VN"])
        cls.vi = cls.env(context={"lang": "vi_VN"})

    def labels(self, model, field):
        return dict(self.vi[model]._fields[field]._description_selection(self.vi))

    def test_outcomes_and_types_read_as_vbot_writes_them(self):
        dispositions = self.labels("vbot.call", "disposition")
        for key, _english, vietnamese in DISPOSITIONS:
            self.assertEqual(dispositions[key], vietnamese, key)
        types = self.labels("vbot.call", "call_type")
        for key, _english, vietnamese in CALL_TYPES:
            self.assertEqual(types[key], vietnamese, key)

    def test_screens_are_in_vietnamese(self):
        self.assertEqual(
            self.vi["ir.ui.menu"]
            .browse(self.vi.ref("vbot_call_history.vbot_call_root_menu").id)
            .name,
            "Cuộc gọi",
        )
        arch = self.vi["res.partner"].get_view(self.vi.ref("base.view_partner_form").id)["arch"]
        self.assertIn("Tải cuộc gọi", arch)

    def test_new_screens_are_in_vietnamese(self):
        menus = {
            "vbot_call_history.vbot_call_root_menu": "Cuộc gọi",
            "vbot_call_history.vbot_call_my_missed_menu": "Cuộc gọi nhỡ tôi cần gọi lại",
            "vbot_call_history.vbot_call_my_menu": "Cuộc gọi của tôi",
            "vbot_call_history.vbot_unknown_number_menu": "Số lạ",
            "vbot_call_history.vbot_member_menu": "Nhân viên VBot",
        }
        for xmlid, name in menus.items():
            self.assertEqual(self.vi["ir.ui.menu"].browse(self.vi.ref(xmlid).id).name, name)
        states = self.labels("vbot.call", "callback_state")
        self.assertEqual(states["pending"], "Cần gọi lại")
        arch = self.vi["vbot.unknown.number"].get_view(
            self.vi.ref("vbot_call_history.vbot_unknown_number_view_list").id
        )["arch"]
        self.assertIn("Tạo liên hệ", arch)
        self.assertIn("Gắn vào liên hệ", arch)

    def test_call_back_activity_in_the_salespersons_language(self):
        sim = start_simulator(
            data=[vbot_group("0912345678", "MISSCALL", "MISSCALL", when=datetime.now(timezone.utc))]
        )
        self.addCleanup(sim.stop)
        allow_hosts(self.env, sim)
        self.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        account = self.env["vbot.account"].create(account_values(sim))
        seller = new_test_user(
            self.env,
            "ban_hang_vi",
            groups="base.group_user,vbot_call_history.group_vbot_user",
            lang="vi_VN",
        )
        partner = self.env["res.partner"].create(
            {"name": "Lý Thu Hà", "mobile": "0912 345 678", "user_id": seller.id}
        )
        account._run_sync()
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )
        self.assertEqual(activity.summary, "Gọi lại")
        self.assertIn("Cuộc gọi nhỡ từ 0912 345 678", str(activity.note))

    def test_webhooks_speak_vietnamese(self):
        arch = self.vi["vbot.account"].get_view(
            self.vi.ref("vbot_call_history.vbot_account_view_form").id
        )["arch"]
        self.assertIn("Tạo URL mới", arch)
        self.assertEqual(self.labels("vbot.call", "origin")["webhook"], "Webhook")
        self.assertEqual(self.labels("vbot.webhook.log", "state")["rejected"], "Bị từ chối")
