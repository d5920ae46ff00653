"""Unknown numbers: listed once each, and given to a contact (new or existing) for good."""

from datetime import datetime, timedelta, timezone

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..models.res_partner import VBOT_TAB_CALLS
from ..services.phone import match_key
from .common import VbotCase, push, vbot_group


def ago(**delta):
    return datetime.now(timezone.utc) - timedelta(**delta)


@tagged("post_install", "-at_install")
class TestUnknownNumbers(VbotCase):
    sim_config = {"calls": 300, "seed": 8, "days": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"]
        cls.Unknown = cls.env["vbot.unknown.number"]
        cls.salesperson = new_test_user(
            cls.env,
            "sales_nam",
            groups="base.group_user,base.group_partner_manager,vbot_call_history.group_vbot_user",
            name="Hoàng Minh Nam",
        )
        # Two customers become contacts; everyone else stays unknown.
        customers = [c for c in cls.sim.state.customers if c["kind"] == "mobile"]
        cls.known = customers[:2]
        cls.Partner.create([{"name": c["name"], "mobile": c["phone"]} for c in cls.known])
        cls.account._run_sync()

    def wizard(self, action):
        """The dialog an action opens, as the web client would create it."""
        self.assertEqual(action["res_model"], "vbot.number.assign")
        return (
            self.env["vbot.number.assign"]
            .with_user(self.env.user)
            .with_context(**action["context"])
            .create({})
        )

    def keyed_calls(self, key):
        return self.Call.search([("customer_key", "=", key)])

    # ------------------------------------------------------------------
    def test_one_line_per_unknown_number(self):
        unknown_calls = self.Call.search(
            [("match_state", "in", ("unmatched", "ambiguous")), ("customer_key", "!=", False)]
        )
        self.assertTrue(unknown_calls)
        lines = self.Unknown.search([])
        self.assertEqual(
            set(lines.mapped("customer_key")), set(unknown_calls.mapped("customer_key"))
        )
        self.assertEqual(len(lines), len(set(lines.mapped("customer_key"))))
        line = max(lines, key=lambda line: line.call_count)
        calls = self.keyed_calls(line.customer_key)
        self.assertEqual(line.call_count, len(calls))
        self.assertEqual(line.missed_count, len(calls.filtered(lambda c: c.call_type == "missed")))
        self.assertEqual(line.last_call_date, max(calls.mapped("call_date")))
        self.assertEqual(line.last_call_id, calls[0])
        self.assertEqual(line.last_disposition, calls[0].disposition)
        # One readable national format: 0xxx xxx xxx.
        self.assertRegex(line.number, r"^0\d{3} \d{3} \d{3}$")
        # Known customers are not listed.
        known_keys = {match_key(c["phone"]) for c in self.known}
        self.assertFalse(known_keys & set(lines.mapped("customer_key")))

    def test_vbot_customer_name_when_sent(self):
        push(
            self.sim,
            vbot_group(
                "0911222333", "INCALL", "NOANSWER", when=ago(minutes=5), customerName="Anh Đạt"
            ),
            vbot_group("0911222333", "OUTCALL", "ANSWER", when=ago(minutes=3)),
        )
        self.account._run_sync()
        line = self.Unknown.search([("customer_key", "=", "+84911222333")])
        self.assertEqual(line.customer_name, "Anh Đạt")
        self.assertEqual((line.call_count, line.number), (2, "0911 222 333"))
        self.assertEqual(line.last_call_type, "outgoing")
        # Creating the contact proposes that name.
        wizard = self.wizard(line.action_create_contact())
        self.assertEqual(wizard.name, "Anh Đạt")

    def test_create_contact_from_unknown_numbers_moves_all_its_calls(self):
        line = max(self.Unknown.search([]), key=lambda line: line.call_count)
        calls = self.keyed_calls(line.customer_key)
        self.assertGreater(len(calls), 1)
        wizard = self.wizard(line.with_user(self.salesperson).action_create_contact())
        self.assertEqual(wizard.number, line.number)
        self.assertEqual(wizard.call_count, len(calls))
        self.assertEqual(wizard.user_id, self.env.user)
        wizard.name = "Công ty Bình Minh - chị Hương"
        action = wizard.with_user(self.salesperson).action_confirm()
        partner = self.Partner.browse(action["res_id"])
        self.assertEqual(partner.mobile, line.number)
        self.assertEqual(calls.partner_id, partner)
        self.assertEqual(set(calls.mapped("match_state")), {"matched"})
        self.assertEqual(partner.vbot_call_count, len(calls))
        self.assertEqual(partner.vbot_call_ids, calls[:VBOT_TAB_CALLS])
        self.assertEqual(self.Call.search(partner._vbot_call_domain()), calls)
        self.assertFalse(self.Unknown.search([("customer_key", "=", line.customer_key)]))

    def test_link_ambiguous_number_picks_one_contact_and_keeps_the_others_calls(self):
        company_a = self.Partner.create({"name": "Công ty An Phát", "is_company": True})
        company_b = self.Partner.create({"name": "Công ty Bảo Tín", "is_company": True})
        shared, own_a, own_b = [
            c for c in self.sim.state.customers if c["kind"] == "mobile" and c not in self.known
        ][:3]
        a = self.Partner.create(
            {
                "name": "Anh Tuấn",
                "parent_id": company_a.id,
                "phone": shared["phone"],
                "mobile": own_a["phone"],
            }
        )
        b = self.Partner.create(
            {
                "name": "Chị Vy",
                "parent_id": company_b.id,
                "phone": shared["phone"],
                "mobile": own_b["phone"],
            }
        )
        shared_calls = self.keyed_calls(match_key(shared["vbot_phone"]))
        a_calls = self.keyed_calls(match_key(own_a["vbot_phone"]))
        b_calls = self.keyed_calls(match_key(own_b["vbot_phone"]))
        self.assertTrue(shared_calls and a_calls and b_calls)
        self.assertEqual(set(shared_calls.mapped("match_state")), {"ambiguous"})
        self.assertEqual(shared_calls.candidate_partner_ids, a | b)
        # A's Calls tab says why the shared number's calls are not there.
        notice = a.vbot_number_notice
        self.assertIn("is also on Công ty Bảo Tín, Chị Vy", notice)
        self.assertIn(f"its {len(shared_calls)} calls are unassigned until you choose", notice)
        # Choose from A's Calls tab: the candidates come first in the picker.
        wizard = self.wizard(a.action_vbot_choose_number())
        self.assertEqual(wizard.mode, "link")
        self.assertEqual(wizard.candidate_partner_ids, a | b)
        names = self.Partner.with_context(
            vbot_candidate_ids=wizard.candidate_partner_ids.ids
        ).name_search("", limit=5)
        self.assertEqual({row[0] for row in names[:2]}, {a.id, b.id})
        wizard.partner_id = b
        self.assertFalse(wizard.save_number)  # B has the number already
        wizard.action_confirm()
        self.assertEqual(shared_calls.partner_id, b)
        self.assertEqual(set(shared_calls.mapped("match_state")), {"matched"})
        self.assertEqual(a_calls.partner_id, a)  # the others' calls stay where they are
        self.assertEqual(b_calls.partner_id, b)
        self.assertIn("go to Công ty Bảo Tín, Chị Vy", a.vbot_number_notice)
        self.assertFalse(b.vbot_number_notice)
        # The choice survives later matching: A's numbers change, contacts are added.
        a.mobile = own_a["phone"] + " "
        a.write({"phone": shared["phone"], "name": "Anh Tuấn (kế toán)"})
        self.Partner.create({"name": "Người thứ ba", "mobile": shared["phone"]})
        self.Call._rematch_keys({match_key(shared["vbot_phone"])})
        self.assertEqual(shared_calls.partner_id, b)
        self.assertEqual(a_calls.partner_id, a)
        # Taking the choice back makes the number ambiguous again.
        self.env["vbot.number.link"].search([("partner_id", "=", b.id)]).unlink()
        self.assertEqual(set(shared_calls.mapped("match_state")), {"ambiguous"})

    def test_link_unknown_number_to_an_existing_contact(self):
        partner = self.Partner.create({"name": "Đinh Quốc Việt", "phone": "028 3822 9999"})
        line = self.Unknown.search([("match_state", "=", "unmatched")], limit=1)
        calls = self.keyed_calls(line.customer_key)
        wizard = self.wizard(line.action_link_contact())
        wizard.partner_id = partner
        self.assertTrue(wizard.save_number)  # its mobile is free
        wizard.action_confirm()
        self.assertEqual(partner.mobile, line.number)
        self.assertEqual(calls.partner_id, partner)
        self.assertEqual(partner.vbot_call_count, len(calls))

    def test_from_the_call_form_and_from_a_number(self):
        call = self.Call.search(
            [("match_state", "=", "unmatched"), ("customer_key", "!=", False)], limit=1
        )
        wizard = self.wizard(call.action_create_contact())
        self.assertEqual((wizard.mode, wizard.customer_key), ("create", call.customer_key))
        wizard = self.wizard(call.action_link_contact())
        self.assertEqual(wizard.mode, "link")
        # The entry point for screens that show a caller (e.g. an incoming-call card).
        action = self.Unknown.with_user(self.salesperson).action_open_create_contact(
            "+84 91 122 2333", name="Anh Đạt"
        )
        wizard = self.wizard(action)
        self.assertEqual(
            (wizard.customer_key, wizard.number, wizard.name),
            ("+84911222333", "0911 222 333", "Anh Đạt"),
        )

    def test_only_vbot_users_of_the_company(self):
        outsider = new_test_user(self.env, "no_vbot", groups="base.group_user")
        line = self.Unknown.search([], limit=1)
        call = self.Call.search([("customer_key", "!=", False)], limit=1)
        with self.assertRaises(AccessError):
            line.with_user(outsider).action_create_contact()
        with self.assertRaises(AccessError):
            call.with_user(outsider).action_link_contact()
        with self.assertRaises(AccessError):
            self.Unknown.with_user(outsider).action_open_create_contact("0911222333")
        with self.assertRaises(AccessError):
            self.Partner.browse(self.env.user.partner_id.id).with_user(
                outsider
            ).action_vbot_choose_number()
        # A wizard made for another company's calls is refused.
        other = self.env["res.company"].create({"name": "Công ty khác"})
        wizard = (
            self.env["vbot.number.assign"]
            .with_user(self.salesperson)
            .create(
                {
                    "mode": "create",
                    "company_id": other.id,
                    "customer_key": "+84911222333",
                    "name": "X",
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_confirm()

    def test_the_dialog_says_how_many_calls_move(self):
        line = max(self.Unknown.search([]), key=lambda line: line.call_count)
        wizard = self.wizard(line.action_create_contact())
        self.assertEqual(
            wizard.move_message,
            f"{line.call_count} calls with {line.number} will move to this contact.",
        )
