import importlib.util
from pathlib import Path
from unittest.mock import patch

from odoo.tests import tagged

from ..models import res_partner as res_partner_module
from ..models.res_partner import VBOT_TAB_CALLS
from ..services.phone import match_key
from .common import VbotCase

TAB_SPEC = {
    "vbot_call_ids": {
        "fields": {"call_date": {}, "call_type": {}, "partner_name": {}},
        "limit": VBOT_TAB_CALLS,
        "order": "call_date desc, id desc",
    },
    "vbot_call_count": {},
}


@tagged("post_install", "-at_install")
class TestPartnerCalls(VbotCase):
    """A contact's Calls tab and smart button at any volume: the newest calls only, the
    count of all, a company's including its contacts' (``partner_id child_of``)."""

    sim_config = {"calls": 400, "seed": 5, "days": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Partner = cls.env["res.partner"]
        cls.account._run_sync()
        counts = {}
        for call in cls.Call.search([("customer_key", "!=", False)]):
            counts[call.customer_key] = counts.get(call.customer_key, 0) + 1
        mobiles = [
            c for c in cls.sim.state.customers if c["kind"] == "mobile" and match_key(c["phone"])
        ]
        # The customers with the most calls first: the first has more than a tab shows.
        cls.customers = sorted(mobiles, key=lambda c: -counts.get(match_key(c["phone"]), 0))
        assert counts[match_key(cls.customers[0]["phone"])] > VBOT_TAB_CALLS
        assert all(counts.get(match_key(c["phone"])) for c in cls.customers[:6])

    def contact(self, index, **values):
        customer = self.customers[index]
        return self.Partner.create(
            dict({"name": customer["name"], "mobile": customer["phone"]}, **values)
        )

    def child_of(self, partner):
        return self.Call.search([("partner_id", "child_of", partner.id)])

    def test_tab_reads_the_newest_calls_only_and_counts_them_all(self):
        partner = self.contact(0)
        calls = self.Call.search([("partner_id", "=", partner.id)])  # newest first
        self.assertGreater(len(calls), VBOT_TAB_CALLS)
        self.assertEqual(partner.vbot_call_ids, calls[:VBOT_TAB_CALLS])
        self.assertEqual(partner.vbot_call_count, len(calls))
        # What the form reads (web_read with the tab's spec): only the rows shown.
        [values] = partner.web_read(TAB_SPEC)
        self.assertEqual([row["id"] for row in values["vbot_call_ids"]], calls[:VBOT_TAB_CALLS].ids)
        self.assertEqual(values["vbot_call_count"], len(calls))
        # See all calls: the paged list of every call.
        action = partner.action_vbot_open_calls()
        self.assertEqual(self.Call.search(action["domain"]), calls)
        self.assertEqual(action["context"], {"default_partner_id": partner.id})

    def test_count_stops_at_its_limit(self):
        partner = self.contact(0)
        calls = self.Call.search([("partner_id", "=", partner.id)])
        self.assertEqual(partner.vbot_call_count_display, str(len(calls)))
        with patch.object(res_partner_module, "VBOT_COUNT_LIMIT", len(calls) - 1):
            self.env.invalidate_all()
            self.assertEqual(partner.vbot_call_count, len(calls))
            self.assertEqual(partner.vbot_call_count_display, f"{len(calls) - 1}+")
        with patch.object(res_partner_module, "VBOT_COUNT_LIMIT", len(calls)):
            self.env.invalidate_all()
            self.assertEqual(partner.vbot_call_count_display, str(len(calls)))

    def test_company_tab_follows_its_contacts(self):
        company = self.Partner.create({"name": "Công ty Hòa Bình", "is_company": True})
        person = self.contact(0)
        calls = self.Call.search([("partner_id", "=", person.id)])
        self.assertEqual(calls.commercial_partner_id, person)
        self.assertFalse(company.vbot_call_count)
        # The contact joins the company: its calls are the company's too.
        person.parent_id = company
        self.assertEqual(calls.commercial_partner_id, company)
        self.env.invalidate_all()
        self.assertEqual(company.vbot_call_count, len(calls))
        self.assertEqual(company.vbot_call_ids, calls[:VBOT_TAB_CALLS])
        self.assertEqual(person.vbot_call_count, len(calls))
        self.assertEqual(self.Call.search(company._vbot_call_domain()), calls)
        self.assertIn(("commercial_partner_id", "in", company.ids), company._vbot_call_domain())
        # It leaves: they leave with it.
        person.parent_id = False
        self.assertEqual(calls.commercial_partner_id, person)
        self.env.invalidate_all()
        self.assertFalse(company.vbot_call_count)
        self.assertEqual(person.vbot_call_count, len(calls))

    def test_domain_is_child_of_whatever_the_tree(self):
        holding = self.Partner.create({"name": "Tập đoàn Sao Mai", "is_company": True})
        subsidiary = self.Partner.create(
            {"name": "Công ty con Sao Mai", "is_company": True, "parent_id": holding.id}
        )
        manager = self.contact(0, parent_id=holding.id)
        address = self.contact(1, parent_id=manager.id, type="invoice")
        employee = self.contact(2, parent_id=subsidiary.id)
        archived = self.contact(3, parent_id=holding.id)
        loner = self.contact(4)
        archived.active = False
        # (The archived contact's calls went to nobody: what child_of finds under it is none.)
        calls = self.Call.search([("partner_id", "!=", False)])
        self.assertEqual(calls.partner_id, manager | address | employee | loner)
        self.assertEqual(employee.commercial_partner_id, subsidiary)
        for partner in (holding, subsidiary, manager, address, employee, archived, loner):
            self.assertEqual(
                self.Call.search(partner._vbot_call_domain()), self.child_of(partner), partner.name
            )
            self.assertEqual(partner.vbot_call_count, len(self.child_of(partner)), partner.name)
        # Together too (a list of contacts), and nobody's calls for no contact.
        everyone = holding | loner
        self.assertEqual(
            self.Call.search(everyone._vbot_call_domain()),
            self.Call.search([("partner_id", "child_of", everyone.ids)]),
        )
        self.assertFalse(self.Call.search(self.Partner._vbot_call_domain()))
        # A company is read through its calls' commercial entity, with the companies below.
        self.assertIn(
            ("commercial_partner_id", "in", sorted((holding | subsidiary).ids)),
            holding._vbot_call_domain(),
        )
        self.assertIn(
            ("commercial_partner_id", "in", subsidiary.ids), subsidiary._vbot_call_domain()
        )
        self.assertIn(("commercial_partner_id", "in", loner.ids), loner._vbot_call_domain())

    def test_matching_sets_the_commercial_entity(self):
        company = self.Partner.create({"name": "Công ty Đại Dương", "is_company": True})
        key = match_key(self.customers[1]["phone"])
        calls = self.Call.search([("customer_key", "=", key)])
        self.assertFalse(calls.commercial_partner_id)
        # A contact created in a company after the sync gets its calls (matching by SQL).
        person = self.contact(1, parent_id=company.id)
        self.assertEqual(calls.partner_id, person)
        self.assertEqual(calls.commercial_partner_id, company)
        self.env.cr.execute(
            "SELECT DISTINCT commercial_partner_id FROM vbot_call WHERE customer_key = %s", [key]
        )
        self.assertEqual(self.env.cr.fetchall(), [(company.id,)])
        # Its number goes: so do its calls, and their commercial entity.
        person.mobile = False
        self.assertFalse(calls.partner_id)
        self.assertFalse(calls.commercial_partner_id)

    def test_sync_inserts_calls_with_their_commercial_entity(self):
        """Calls inserted by a sync (one INSERT a page) carry their contact's commercial
        entity in the row itself, as the ORM would compute it."""
        company = self.Partner.create({"name": "Công ty Bình Minh", "is_company": True})
        person = self.contact(2, parent_id=company.id)
        loner = self.contact(3)
        self.Call.search([]).unlink()
        self.account._run_sync()
        self.env.invalidate_all()
        self.env.cr.execute(
            """
            SELECT c.partner_id, c.commercial_partner_id, count(*)
              FROM vbot_call AS c
             WHERE c.partner_id = ANY(%s)
             GROUP BY 1, 2
            """,
            [[person.id, loner.id]],
        )
        rows = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        self.assertEqual(rows[person.id][0], company.id)
        self.assertEqual(rows[loner.id][0], loner.id)
        self.assertTrue(rows[person.id][1] and rows[loner.id][1])
        self.env.cr.execute(
            """
            SELECT count(*) FROM vbot_call AS c JOIN res_partner AS p ON p.id = c.partner_id
             WHERE c.commercial_partner_id IS DISTINCT FROM p.commercial_partner_id
            """
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_merge_keeps_the_commercial_entity_right(self):
        first = self.Partner.create({"name": "Công ty Một", "is_company": True})
        second = self.Partner.create({"name": "Công ty Hai", "is_company": True})
        person = self.contact(0, parent_id=first.id, email="lan@example.com")
        survivor = self.Partner.create(
            {"name": "Chị Lan", "parent_id": second.id, "email": "lan@example.com"}
        )
        calls = self.Call.search([("partner_id", "=", person.id)])
        self.assertEqual(calls.commercial_partner_id, first)
        wizard = self.env["base.partner.merge.automatic.wizard"].create({})
        wizard._merge((person | survivor).ids, survivor)
        self.env.invalidate_all()
        self.assertEqual(calls.partner_id, survivor)
        self.assertEqual(calls.commercial_partner_id, second)
        self.assertEqual(second.vbot_call_count, len(calls))
        self.assertFalse(first.vbot_call_count)

    def test_migration_fills_the_commercial_entity(self):
        company = self.Partner.create({"name": "Công ty Cũ", "is_company": True})
        person = self.contact(0, parent_id=company.id)
        loner = self.contact(1)
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE vbot_call DROP COLUMN commercial_partner_id")
        path = (
            Path(__file__).resolve().parents[1]
            / "migrations"
            / "18.0.2.1.0"
            / "pre-commercial_partner.py"
        )
        spec = importlib.util.spec_from_file_location("vbot_migration_commercial", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.2.0.0")
        migration.migrate(self.env.cr, "18.0.2.0.0")  # idempotent
        self.env.cr.execute(
            """
            SELECT count(*) FILTER (WHERE c.commercial_partner_id = %s AND c.partner_id = %s),
                   count(*) FILTER (WHERE c.commercial_partner_id = %s AND c.partner_id = %s),
                   count(*) FILTER (WHERE c.commercial_partner_id IS DISTINCT FROM p.commercial_partner_id)
              FROM vbot_call AS c LEFT JOIN res_partner AS p ON p.id = c.partner_id
            """,
            [company.id, person.id, loner.id, loner.id],
        )
        in_company, alone, wrong = self.env.cr.fetchone()
        self.assertTrue(in_company)
        self.assertTrue(alone)
        self.assertEqual(wrong, 0)
