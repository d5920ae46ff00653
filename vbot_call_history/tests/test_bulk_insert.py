"""The sync's bulk insert (COPY) stores exactly what the ORM's ``create`` stores."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from odoo.tests import tagged

from ..services.mapping import map_call
from .common import VbotCase, vbot_group

# What differs between two stored calls by construction.
_OWN = {"id", "external_id", "create_date", "write_date", "payload"}
HOSTILE_TEXT = 'tab\there, new\nline, cr\rreturn, back\\slash, \\N, "quoted", tiếng Việt'


@tagged("post_install", "-at_install")
class TestBulkInsert(VbotCase):
    sim_config = {"calls": 0, "seed": 1, "days": 1}

    def setUp(self):
        super().setUp()
        self.partner = self.env["res.partner"].create(
            {"name": "Khách COPY", "mobile": "0912 345 678"}
        )
        self.when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    def _row(self, call):
        self.env.flush_all()
        self.env.cr.execute("SELECT * FROM vbot_call WHERE id = %s", [call.id])
        names = [column.name for column in self.env.cr.description]
        return dict(zip(names, self.env.cr.fetchone(), strict=True))

    def _values(self, group_id, **changes):
        group = vbot_group(
            "+84912345678",
            when=self.when,
            group_id=group_id,
            record_file=[f"{self.account.base_url}/api/crm/historycall/record/one-file"],
        )
        return dict(map_call(group), **changes)

    def test_a_copied_call_is_what_create_stores(self):
        """Every column of a call the sync inserts in bulk equals what ``create`` (through
        ``_prepare_vals``, then matching) stores for the same values, hostile text included:
        tabs, line breaks, backslashes and a literal ``\\N`` come back as they were."""
        hostile = {
            "customer_name": HOSTILE_TEXT,
            "disposition_raw": HOSTILE_TEXT,
            "hotline": HOSTILE_TEXT[:40],
        }
        copied, _updated = self.Call._upsert_mapped(
            self.account, [self._values("copy-1", **hostile)]
        )
        vals = self.Call._prepare_vals(self.account, self._values("orm-1", **hostile))
        created = self.Call.create(dict(vals, origin="sync"))
        created._match_partners()
        created._match_users()
        self.assertEqual(copied.partner_id, self.partner)
        copied_row, created_row = self._row(copied), self._row(created)
        self.assertEqual(copied_row["customer_name"], HOSTILE_TEXT)
        self.assertEqual(copied_row["disposition_raw"], HOSTILE_TEXT)
        self.assertEqual(
            {k: v for k, v in copied_row.items() if k not in _OWN},
            {k: v for k, v in created_row.items() if k not in _OWN},
        )
        # The payload too, as sent (a JSON text with escapes of its own).
        self.assertEqual(copied_row["payload"], self._values("copy-1", **hostile)["payload"])

    def test_a_value_copy_does_not_know_is_inserted_all_the_same(self):
        """Another module's default may be of any type: a value COPY's text format is not
        made for here has the page inserted by one INSERT, with the same ids."""
        columns = [
            "account_id",
            "company_id",
            "external_id",
            "call_date",
            "call_type",
            "origin",
            "match_state",
            "cost",
        ]
        values = self._values("odd-1")
        row = {
            "account_id": self.account.id,
            "company_id": self.account.company_id.id,
            "external_id": "odd-1",
            "call_date": values["call_date"],
            "call_type": "incoming",
            "origin": "sync",
            "match_state": "unmatched",
            "cost": Decimal("1234.5"),
        }
        ids = self.Call._copy_rows(columns, [row, dict(row, external_id="odd-2")])
        calls = self.Call.browse(ids)
        self.assertEqual(calls.mapped("external_id"), ["odd-1", "odd-2"])
        self.assertEqual(calls.mapped("cost"), [1234.5, 1234.5])
