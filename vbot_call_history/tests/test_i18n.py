from odoo.tests import TransactionCase, tagged

from ..services.mapping import CALL_TYPES, DISPOSITIONS


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
            self.vi["ir.ui.menu"].browse(self.vi.ref("vbot_call_history.vbot_call_menu").id).name,
            "Cuộc gọi",
        )
        arch = self.vi["res.partner"].get_view(self.vi.ref("base.view_partner_form").id)["arch"]
        self.assertIn("Tải cuộc gọi", arch)

    def test_webhooks_speak_vietnamese(self):
        arch = self.vi["vbot.account"].get_view(
            self.vi.ref("vbot_call_history.vbot_account_view_form").id
        )["arch"]
        self.assertIn("Tạo URL mới", arch)
        self.assertEqual(self.labels("vbot.call", "origin")["webhook"], "Webhook")
        self.assertEqual(self.labels("vbot.webhook.log", "state")["rejected"], "Bị từ chối")
