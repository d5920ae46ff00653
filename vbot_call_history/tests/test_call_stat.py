"""Call statistics kept ahead by triggers: always the counts of the calls stored."""

from odoo.tests import new_test_user, tagged

from .common import VbotCase

# What the statistics say, read as the pivot reads them (month x type, the calls summed).
PIVOT = (["day:month", "call_type"], ["calls:sum"])


@tagged("post_install", "-at_install")
class TestCallStat(VbotCase):
    sim_config = {"calls": 300, "seed": 21, "days": 40}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Stat = cls.env["vbot.call.stat"]
        cls.account._run_sync()

    def counted(self):
        """{(company, account, local day, type, answered): (calls, talk)} of the statistics."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT company_id, account_id, day, call_type, is_answered,
                   sum(calls), sum(talk_duration)
              FROM vbot_call_stat GROUP BY 1, 2, 3, 4, 5 HAVING sum(calls) <> 0
            """
        )
        return {row[:5]: row[5:] for row in self.env.cr.fetchall()}

    def actual(self):
        """The same, counted from the calls themselves."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT c.company_id, c.account_id,
                   ((c.call_date AT TIME ZONE 'UTC') AT TIME ZONE a.timezone)::date,
                   c.call_type, c.is_answered, count(*), sum(c.talk_duration)
              FROM vbot_call AS c JOIN vbot_account AS a ON a.id = c.account_id
             GROUP BY 1, 2, 3, 4, 5
            """
        )
        return {row[:5]: row[5:] for row in self.env.cr.fetchall()}

    def test_statistics_count_every_stored_call_by_local_day(self):
        calls = self.calls()
        self.assertGreater(len(calls), 200)
        self.assertEqual(self.counted(), self.actual())
        self.assertEqual(sum(c for c, _t in self.counted().values()), len(calls))
        # The day is the account's (Vietnam): a call at 20:00 UTC counts on the next day.
        late = calls.filtered(lambda c: c.call_date.hour >= 17)[:1]
        self.assertTrue(late)
        day = (late.call_date.date()).toordinal() + 1
        self.assertIn(day, {key[2].toordinal() for key in self.counted()})

    def test_statistics_follow_updates_and_deletions(self):
        calls = self.calls()
        # A correction VBot made (ORM write), raw SQL, a deletion, a cascade.
        calls[:5].write({"call_type": "outgoing", "is_answered": True, "talk_duration": 61})
        self.env.cr.execute(
            "UPDATE vbot_call SET call_date = call_date - interval '3 days' WHERE id = ANY(%s)",
            [calls[5:10].ids],
        )
        self.env.invalidate_all()
        calls[10:20].unlink()
        self.assertEqual(self.counted(), self.actual())
        # Matching a call to a contact changes no count: no delta is written.
        self.env.flush_all()
        self.env.cr.execute("SELECT count(*) FROM vbot_call_stat")
        rows = self.env.cr.fetchone()[0]
        self.env.cr.execute("UPDATE vbot_call SET partner_id = NULL")
        self.env.cr.execute("SELECT count(*) FROM vbot_call_stat")
        self.assertEqual(self.env.cr.fetchone()[0], rows)
        self.account.unlink()
        self.assertEqual(self.counted(), {})

    def test_compaction_keeps_the_counts(self):
        self.calls()[:30].unlink()
        before = self.counted()
        self.env.cr.execute("SELECT count(*) FROM vbot_call_stat")
        rows = self.env.cr.fetchone()[0]
        self.Stat._compact()
        self.assertEqual(self.counted(), before)
        self.env.cr.execute(
            "SELECT count(*), count(DISTINCT (company_id, account_id, day, call_type, "
            "is_answered)) FROM vbot_call_stat"
        )
        total, distinct = self.env.cr.fetchone()
        self.assertEqual(total, distinct)
        self.assertLess(total, rows)

    def test_pivot_as_a_vbot_user_of_this_company_only(self):
        user = new_test_user(
            self.env, "stat_user", groups="base.group_user,vbot_call_history.group_vbot_user"
        )
        groups = self.Stat.with_user(user).read_group([], ["calls:sum"], PIVOT[0], lazy=False)
        self.assertEqual(sum(g["calls"] for g in groups), len(self.calls()))
        other = self.env["res.company"].create({"name": "Công ty khác"})
        outsider = new_test_user(
            self.env,
            "stat_outsider",
            groups="base.group_user,vbot_call_history.group_vbot_user",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        groups = self.Stat.with_user(outsider).read_group([], ["calls:sum"], PIVOT[0], lazy=False)
        self.assertFalse([g for g in groups if g["calls"]])
