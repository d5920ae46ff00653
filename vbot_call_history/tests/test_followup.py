"""Missed calls become follow-ups: one Call back activity per contact, closed by the call-back.

Every test syncs for real from a simulator serving calls made for it (dated around now).
"""

from datetime import datetime, timedelta, timezone

from odoo.tests import TransactionCase, new_test_user, tagged

from ..services.mapping import map_call
from .common import account_values, allow_hosts, push, start_simulator, vbot_group

NUMBER = "0912345678"  # as VBot sends it
CRM_NUMBER = "0912 345 678"  # as the contact holds it


def ago(**delta):
    return datetime.now(timezone.utc) - timedelta(**delta)


@tagged("post_install", "-at_install")
class TestFollowUp(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,base.group_partner_manager,vbot_call_history.group_vbot_user"
        cls.salesperson = new_test_user(
            cls.env, "sales_lan", groups=groups, name="Trần Thị Lan", tz="Asia/Ho_Chi_Minh"
        )
        cls.agent = new_test_user(cls.env, "agent_an", groups=groups, name="Nguyễn Văn An")
        cls.fallback = new_test_user(cls.env, "lead_ha", groups=groups, name="Lê Thị Hà")
        cls.partner = cls.env["res.partner"].create(
            {"name": "Phạm Minh Khôi", "phone": CRM_NUMBER, "user_id": cls.salesperson.id}
        )
        cls.Activity = cls.env["mail.activity"]
        cls.Call = cls.env["vbot.call"]

    def setUp(self):
        super().setUp()
        self.sim = start_simulator(data=[])
        self.addCleanup(self.sim.stop)
        allow_hosts(self.env, self.sim)
        self.env["vbot.account"].with_context(active_test=False).search(
            [("company_id", "=", self.env.company.id)]
        ).unlink()
        self.account = self.env["vbot.account"].create(
            account_values(self.sim, callback_user_id=self.fallback.id)
        )
        self.env["vbot.member"].create(
            {"account_id": self.account.id, "member_no": "101", "user_id": self.agent.id}
        )

    def sync(self):
        # Each sync starts again from the first day, as a backfill would: calls already
        # stored are updated, never duplicated.
        self.account.sync_watermark = False
        self.account._run_sync()
        self.assertEqual(self.account.last_sync_state, "ok", self.account.last_sync_message)

    def callbacks(self, partner=None):
        return self.Activity.search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", (partner or self.partner).id),
                ("vbot_callback", "=", True),
            ]
        )

    def call_of(self, group):
        return self.Call.search([("external_id", "=", group["group_id"])])

    # ------------------------------------------------------------------
    def test_missed_call_makes_one_activity_for_the_salesperson(self):
        (missed,) = push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=10)))
        self.sync()
        call = self.call_of(missed)
        self.assertEqual(call.partner_id, self.partner)
        self.assertEqual((call.call_type, call.callback_state), ("missed", "pending"))
        activity = self.callbacks()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual(activity.summary, "Call back")
        self.assertEqual(activity.user_id, self.salesperson)
        self.assertIn("Missed call from 0912 345 678", str(activity.note))
        # Due within the account's 4 hours, in the salesperson's own day.
        due = (ago(minutes=10) + timedelta(hours=4)).astimezone(timezone(timedelta(hours=7)))
        self.assertEqual(activity.date_deadline, due.date())
        # The same page synced again changes nothing.
        self.sync()
        self.assertEqual(self.callbacks(), activity)

    def test_incoming_calls_nobody_answered_are_missed_too(self):
        groups = push(
            self.sim,
            vbot_group(NUMBER, "INCALL", "NOANSWER", when=ago(minutes=30)),
            vbot_group(NUMBER, "INCALL", "BUSY", when=ago(minutes=20)),
            vbot_group(NUMBER, "INCALL", "CANCEL", when=ago(minutes=10)),
        )
        self.sync()
        calls = self.Call.browse([self.call_of(g).id for g in groups])
        self.assertEqual(set(calls.mapped("call_type")), {"missed"})
        missed = self.Call.search([("call_type", "=", "missed")])  # the Missed filter
        self.assertEqual(missed & calls, calls)

    def test_three_missed_calls_make_one_activity(self):
        push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=50)))
        self.sync()
        push(
            self.sim,
            vbot_group("+84912345678", "INCALL", "NOANSWER", when=ago(minutes=40)),
            vbot_group("84912345678", "MISSCALL", "CANCEL", when=ago(minutes=30)),
        )
        self.sync()
        activity = self.callbacks()
        self.assertEqual(len(activity), 1)
        self.assertIn("3 missed calls from 0912 345 678", str(activity.note))
        self.assertEqual(
            self.Call.search_count(
                [("partner_id", "=", self.partner.id), ("callback_state", "=", "pending")]
            ),
            3,
        )

    def test_answered_call_back_closes_the_activity(self):
        push(
            self.sim,
            vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=50)),
            vbot_group(NUMBER, "INCALL", "BUSY", when=ago(minutes=45)),
        )
        self.sync()
        activity = self.callbacks()
        self.assertTrue(activity)
        # An outgoing call the customer did not answer is no call-back.
        push(self.sim, vbot_group(NUMBER, "OUTCALL", "NOANSWER", when=ago(minutes=30)))
        self.sync()
        self.assertEqual(self.callbacks(), activity)
        # The agent calls back and they talk for 3 min 25 s.
        (answer,) = push(
            self.sim,
            vbot_group(NUMBER, "OUTCALL", "ANSWER", when=ago(minutes=20), talk=205),
        )
        self.sync()
        answered = self.call_of(answer)
        self.assertFalse(self.callbacks())
        self.assertFalse(activity.exists())
        missed = self.Call.search(
            [("partner_id", "=", self.partner.id), ("call_type", "=", "missed")]
        )
        self.assertEqual(len(missed), 2)
        self.assertEqual(set(missed.mapped("callback_state")), {"done"})
        self.assertEqual(missed.called_back_call_id, answered)
        # The contact's chatter says the activity was done, naming the call.
        message = self.partner.message_ids.filtered(
            lambda m: m.mail_activity_type_id == self.env.ref("mail.mail_activity_data_call")
        )[:1]
        self.assertIn("Called back", str(message.body))
        self.assertIn("Nguyễn Văn An", str(message.body))
        self.assertIn("3:25", str(message.body))
        # A new missed call afterwards starts a new follow-up.
        push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=5)))
        self.sync()
        self.assertEqual(len(self.callbacks()), 1)

    def test_answered_call_synced_first_leaves_nothing_to_do(self):
        # One sync brings both: VBot pages newest first, so the answer is stored first.
        push(
            self.sim,
            vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=50)),
            vbot_group(NUMBER, "INCALL", "ANSWER", when=ago(minutes=40)),
        )
        self.account.page_size = 1
        self.sync()
        self.assertFalse(self.callbacks())
        missed = self.Call.search([("call_type", "=", "missed")])
        self.assertEqual(missed.callback_state, "done")
        # No activity was made and closed on the way: nothing in the chatter.
        call_type = self.env.ref("mail.mail_activity_data_call")
        self.assertFalse(
            self.partner.message_ids.filtered(lambda m: m.mail_activity_type_id == call_type)
        )

    def test_backfill_older_than_the_limit_makes_none(self):
        (old,) = push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(days=3)))
        self.account.callback_max_age_hours = 24
        self.sync()
        call = self.call_of(old)
        self.assertEqual(call.partner_id, self.partner)
        self.assertEqual(call.callback_state, "stale")
        self.assertFalse(self.callbacks())
        # A recent one still does.
        push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(hours=2)))
        self.sync()
        self.assertIn("Missed call from", str(self.callbacks().note))

    def test_assignee_salesperson_then_agent_then_account(self):
        no_salesperson = self.env["res.partner"].create(
            {"name": "Võ Tài", "mobile": "0987 654 321"}
        )
        nobody = self.env["res.partner"].create({"name": "Hồ Yến", "mobile": "0977 111 222"})
        # The salesperson may not see this contact's company: the agent calls back.
        other_company = self.env["res.company"].create({"name": "Chi nhánh Đà Nẵng"})
        self.agent.company_ids |= other_company
        self.fallback.company_ids |= other_company
        elsewhere = self.env["res.partner"].create(
            {
                "name": "Đỗ Hùng",
                "mobile": "0966 333 444",
                "user_id": self.salesperson.id,
                "company_id": other_company.id,
            }
        )
        self.env["vbot.account"].search([("company_id", "=", other_company.id)]).unlink()
        account_b = self.env["vbot.account"].create(
            account_values(self.sim, company_id=other_company.id, name="VBot Đà Nẵng")
        )
        self.env["vbot.member"].create(
            {"account_id": account_b.id, "member_no": "101", "user_id": self.agent.id}
        )
        push(
            self.sim,
            vbot_group("0987654321", "MISSCALL", "MISSCALL", when=ago(minutes=9)),
            vbot_group("0977111222", "MISSCALL", "MISSCALL", when=ago(minutes=8), member_no="109"),
            vbot_group("0966333444", "MISSCALL", "MISSCALL", when=ago(minutes=7)),
        )
        self.sync()
        self.assertEqual(self.callbacks(no_salesperson).user_id, self.agent)
        self.assertEqual(self.callbacks(nobody).user_id, self.fallback)
        account_b.sync_watermark = False
        account_b._run_sync()
        self.assertEqual(self.callbacks(elsewhere).user_id, self.agent)

    def test_a_single_call_arriving_alone_and_its_recording(self):
        """The path of a webhook: one call stored alone, then updated with its recording."""
        missed = vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=3))
        self.Call._upsert_mapped(self.account, [map_call(missed)])
        self.assertEqual(len(self.callbacks()), 1)
        answer = vbot_group(NUMBER, "INCALL", "ANSWER", when=ago(minutes=1))
        created, _updated = self.Call._upsert_mapped(self.account, [map_call(answer)])
        self.assertFalse(self.callbacks())
        # The recording arrives later: the call is updated, nothing else moves.
        answer["record_file"] = [self.sim.base_url_v2 + "/api/crm/historycall/record/x"]
        _created, updated = self.Call._upsert_mapped(self.account, [map_call(answer)])
        self.assertEqual(updated, created)
        self.assertTrue(updated.has_recording)
        self.assertFalse(self.callbacks())
        self.assertEqual(self.call_of(missed).callback_state, "done")

    def test_done_by_hand_clears_the_calls_to_call_back(self):
        push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=10)))
        self.sync()
        activity = self.callbacks()
        Call = self.Call.with_user(self.salesperson)
        self.assertEqual(len(Call.search([("callback_mine", "=", True)])), 1)
        # The salesperson called from their own phone and marks it done.
        activity.with_user(self.salesperson).action_feedback("Đã gọi lại bằng di động")
        self.assertFalse(Call.search([("callback_mine", "=", True)]))
        self.assertEqual(self.Call.search([("call_type", "=", "missed")]).callback_state, "closed")
        self.sync()
        self.assertFalse(self.callbacks())

    def test_my_calls_and_my_missed_calls(self):
        push(
            self.sim,
            vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=30), member_no="105"),
            vbot_group("0900000009", "OUTCALL", "ANSWER", when=ago(minutes=20), member_no="101"),
            vbot_group("0900000008", "OUTCALL", "ANSWER", when=ago(minutes=10), member_no="105"),
        )
        self.sync()
        mine = self.Call.with_user(self.salesperson).search([("is_mine", "=", True)])
        self.assertEqual(mine.partner_id, self.partner)  # my contact's calls
        agents = self.Call.with_user(self.agent).search([("is_mine", "=", True)])
        self.assertEqual(agents.mapped("customer_display"), ["0900 000 009"])  # calls I took
        to_call = self.Call.with_user(self.salesperson).search([("callback_mine", "=", True)])
        self.assertEqual(to_call.mapped("call_type"), ["missed"])
        self.assertFalse(self.Call.with_user(self.agent).search([("callback_mine", "=", True)]))

    def test_activities_off(self):
        self.account.callback_activity = False
        push(self.sim, vbot_group(NUMBER, "MISSCALL", "MISSCALL", when=ago(minutes=10)))
        self.sync()
        self.assertFalse(self.callbacks())
        # Still listed to call back.
        self.assertEqual(self.Call.search([]).callback_state, "pending")

    def test_missed_call_of_an_unknown_number_follows_it_to_its_new_contact(self):
        push(self.sim, vbot_group("0933444555", "MISSCALL", "MISSCALL", when=ago(minutes=10)))
        self.sync()
        self.assertFalse(self.Activity.search([("vbot_callback", "=", True)]))
        partner = (
            self.env["res.partner"]
            .with_user(self.salesperson)
            .create(
                {"name": "Bùi Ngọc Mai", "mobile": "0933 444 555", "user_id": self.salesperson.id}
            )
        )
        self.assertEqual(self.callbacks(partner).user_id, self.salesperson)

    def test_values_of_another_mapping_are_classified_the_same(self):
        """A webhook's own mapping may give VBot's direction only: classify still decides."""

        def foreign(group):
            values = map_call(group)
            del values["answered"], values["customer_display"]
            values["call_type"] = {"INCALL": "incoming", "OUTCALL": "outgoing"}[group["type_call"]]
            return values

        missed = vbot_group(NUMBER, "INCALL", "NOANSWER", when=ago(minutes=3))
        self.Call._upsert_mapped(self.account, [foreign(missed)])
        call = self.call_of(missed)
        self.assertEqual((call.call_type, call.callback_state), ("missed", "pending"))
        self.assertEqual(call.customer_display, "0912 345 678")
        self.assertEqual(len(self.callbacks()), 1)
        answer = vbot_group(NUMBER, "OUTCALL", "ANSWER", when=ago(minutes=1))
        self.Call._upsert_mapped(self.account, [foreign(answer)])
        self.assertTrue(self.call_of(answer).is_answered)
        self.assertFalse(self.callbacks())
