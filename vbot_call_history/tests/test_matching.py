from odoo.tests import tagged

from ..models.res_partner import VBOT_TAB_CALLS
from ..services.phone import match_key
from .common import VbotCase


@tagged("post_install", "-at_install")
class TestMatching(VbotCase):
    sim_config = {"calls": 400, "seed": 5, "days": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"]
        customers = [c for c in cls.sim.state.customers if c["kind"] in ("mobile", "legacy")]
        cls.mobile = next(c for c in customers if c["kind"] == "mobile")
        cls.legacy = next(c for c in customers if c["kind"] == "legacy")

    def calls_of_number(self, vbot_phone):
        key = match_key(vbot_phone)
        return self.Call.search([("customer_key", "=", key)])

    def test_formats_and_legacy_numbers_match(self):
        partner = self.Partner.create({"name": self.mobile["name"], "phone": self.mobile["phone"]})
        legacy = self.Partner.create({"name": self.legacy["name"], "mobile": self.legacy["phone"]})
        self.assertNotEqual(self.legacy["phone"], self.legacy["vbot_phone"])
        self.account._run_sync()
        calls = self.calls_of_number(self.mobile["vbot_phone"])
        self.assertTrue(calls)
        self.assertEqual(calls.partner_id, partner)
        self.assertEqual(set(calls.mapped("match_state")), {"matched"})
        # VBot sends the customer number in several formats; all land on the contact.
        self.assertEqual(partner.vbot_call_count, len(calls))
        # Its Calls tab shows the newest (the smart button opens them all).
        self.assertEqual(partner.vbot_call_ids, calls[:VBOT_TAB_CALLS])
        legacy_calls = self.calls_of_number(self.legacy["vbot_phone"])
        self.assertTrue(legacy_calls)
        self.assertEqual(legacy_calls.partner_id, legacy)

    def test_every_call_with_a_unique_number_is_on_its_contact(self):
        partners = self.Partner.create(
            [{"name": c["name"], "phone": c["phone"]} for c in self.sim.state.customers]
        )
        self.account._run_sync()
        by_key = {}
        for partner in partners:
            by_key.setdefault(partner.vbot_phone_key, []).append(partner)
        checked = 0
        for call in self.calls():
            owners = by_key.get(call.customer_key, [])
            if len(owners) == 1:
                self.assertEqual(call.partner_id, owners[0], call.customer_number)
                checked += 1
            elif not owners:
                self.assertFalse(call.partner_id)
        self.assertGreater(checked, len(self.calls()) * 0.8)

    def test_company_and_its_contact_share_a_number(self):
        company = self.Partner.create(
            {"name": "Công ty An Phát", "is_company": True, "phone": self.mobile["phone"]}
        )
        person = self.Partner.create(
            {"name": "Chị Lan", "parent_id": company.id, "mobile": self.mobile["vbot_phone"]}
        )
        self.account._run_sync()
        calls = self.calls_of_number(self.mobile["vbot_phone"])
        self.assertEqual(calls.partner_id, company)
        # The company's tab and count include its contacts' calls, with one domain.
        self.assertEqual(company.vbot_call_count, len(calls))
        action = company.action_vbot_open_calls()
        self.assertEqual(self.Call.search_count(action["domain"]), company.vbot_call_count)
        self.assertFalse(person.vbot_call_count)

    def test_ambiguous_number_keeps_candidates(self):
        first = self.Partner.create({"name": "Khách A", "phone": self.mobile["phone"]})
        second = self.Partner.create({"name": "Khách B", "mobile": self.mobile["vbot_phone"]})
        self.account._run_sync()
        calls = self.calls_of_number(self.mobile["vbot_phone"])
        self.assertTrue(calls)
        self.assertFalse(calls.partner_id)
        self.assertEqual(set(calls.mapped("match_state")), {"ambiguous"})
        self.assertEqual(calls[0].candidate_partner_ids, first | second)
        # Archiving one of them settles it.
        second.active = False
        self.assertEqual(calls.partner_id, first)
        self.assertEqual(set(calls.mapped("match_state")), {"matched"})

    def test_other_company_contact_is_not_linked(self):
        other = self.env["res.company"].create({"name": "Chi nhánh khác"})
        self.Partner.create(
            {"name": "Khách công ty khác", "phone": self.mobile["phone"], "company_id": other.id}
        )
        self.account._run_sync()
        calls = self.calls_of_number(self.mobile["vbot_phone"])
        self.assertFalse(calls.partner_id)
        self.assertEqual(set(calls.mapped("match_state")), {"unmatched"})

    def test_relink_on_create_change_and_merge(self):
        self.account._run_sync()
        calls = self.calls_of_number(self.mobile["vbot_phone"])
        self.assertTrue(calls)
        self.assertFalse(calls.partner_id)
        # A contact created after the sync gets its calls.
        partner = self.Partner.create({"name": "Mới", "phone": self.mobile["phone"]})
        self.assertEqual(calls.partner_id, partner)
        # Its number changes: the calls leave it, and go to who has the number now.
        partner.phone = "0900000001"
        self.assertFalse(calls.partner_id)
        other = self.Partner.create({"name": "Khác", "mobile": self.mobile["vbot_phone"]})
        self.assertEqual(calls.partner_id, other)
        # Merging moves the calls to the surviving contact.
        survivor = self.Partner.create({"name": "Người giữ lại", "email": "giu@example.com"})
        wizard = self.env["base.partner.merge.automatic.wizard"].create({})
        wizard._merge((other | survivor).ids, survivor)
        self.assertFalse(other.exists())
        self.assertEqual(calls.partner_id, survivor)

    def test_no_query_per_call(self):
        """Matching costs the same number of queries for 10 calls as for 200."""
        self.Partner.create(
            [{"name": c["name"], "phone": c["phone"]} for c in self.sim.state.customers]
        )
        self.account._run_sync()
        calls = self.calls()
        self.assertGreaterEqual(len(calls), 200)

        def queries(records):
            records.write({"match_state": "unmatched", "partner_id": False})
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            records._match_partners()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        small, large = queries(calls[:10]), queries(calls[:200])
        self.assertEqual(small, large)
        # Matching, the numbers chosen by hand, and the call-back activities that follow
        # moved missed calls: a fixed number of queries.
        self.assertLessEqual(large, 14)
        self.assertTrue(calls[:200].partner_id)

    def test_agents_are_mapped_to_users(self):
        self.account._run_sync()
        member_no = self.calls().filtered("agent_member_no")[0].agent_member_no
        agent_calls = self.Call.search([("agent_member_no", "=", member_no)])
        self.assertFalse(agent_calls.user_id)
        user = self.env["res.users"].create(
            {"name": "Nhân viên Hoa", "login": "hoa", "vbot_member_no": member_no}
        )
        self.assertEqual(agent_calls.user_id, user)
        user.vbot_member_no = "999"
        self.assertFalse(agent_calls.user_id)
