from odoo.tests import HttpCase, tagged

from ..services.phone import match_key
from .common import account_values, allow_hosts, start_simulator


@tagged("post_install", "-at_install")
class TestCallsTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(calls=120, seed=6, days=5)
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        cls.account = cls.env["vbot.account"].create(account_values(cls.sim))
        # The customer with most recorded calls becomes a contact, as sales staff save it.
        recorded = {}
        for group in cls.sim.state.calls:
            for leg in group["caller"] + group["callee"]:
                if group["record_file"] and leg["phone"] and not leg["member_no"]:
                    key = match_key(leg["phone"])
                    recorded[key] = recorded.get(key, 0) + 1
        customer = max(
            (c for c in cls.sim.state.customers if match_key(c["vbot_phone"]) in recorded),
            key=lambda c: recorded[match_key(c["vbot_phone"])],
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": customer["name"], "mobile": customer["phone"]}
        )
        cls.account._run_sync()

    def test_contact_calls_tab(self):
        calls = self.env["vbot.call"].search([("partner_id", "=", self.partner.id)])
        self.assertTrue(calls.filtered("has_recording"))
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}", "vbot_call_history_tour", login="admin"
        )

    def test_player_says_why_a_recording_cannot_play(self):
        calls = self.env["vbot.call"].search(
            [("partner_id", "=", self.partner.id), ("has_recording", "=", True)]
        )
        # VBot has lost them: the recording route answers 404.
        calls.write({"recording_urls": [self.sim.url + "/v2.0/api/crm/historycall/record/gone"]})
        self.start_tour(
            f"/odoo/res.partner/{self.partner.id}",
            "vbot_call_history_player_error_tour",
            login="admin",
        )
