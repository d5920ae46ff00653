"""Call statistics kept ahead: counts by company, account, local day, type and outcome.

A pivot of a million calls by month and type reads every call (a second on two cores); this
table holds the same counts as *deltas* written by statement triggers on ``vbot_call``: each
INSERT, UPDATE (of what is counted) and DELETE adds rows of differences, whatever made it
(the sync's bulk insert, the ORM, a cascade, raw SQL). Rows are only ever added, never
updated, so a sync and a webhook storing calls at once never contend for a row (no
serialization failure under REPEATABLE READ). A page of 500 calls adds a handful of rows;
:meth:`_compact` (a daily cron) folds them per day.
"""

from odoo import api, fields, models

from ..services.mapping import CALL_TYPES

# The local day of a call: the account's time zone (VBot's, Vietnam, by default).
_DAY = (
    "(({c}.call_date AT TIME ZONE 'UTC') AT TIME ZONE "
    "COALESCE((SELECT a.timezone FROM vbot_account AS a WHERE a.id = {c}.account_id), "
    "'Asia/Ho_Chi_Minh'))::date"
)
_COUNTED = ("company_id", "account_id", "call_date", "call_type", "is_answered", "talk_duration")

_CHANGED = " OR ".join(f"o.{name} IS DISTINCT FROM n.{name}" for name in _COUNTED)
_DELTA = """
INSERT INTO vbot_call_stat (company_id, account_id, day, call_type, is_answered, calls,
                            talk_duration)
SELECT {c}.company_id, {c}.account_id, {day}, {c}.call_type, {c}.is_answered,
       {sign}count(*), {sign}COALESCE(sum({c}.talk_duration), 0)
  FROM {table} AS {c}
 WHERE {where}
 GROUP BY 1, 2, 3, 4, 5;
"""
_REMOVED = _DELTA.format(
    c="o",
    day=_DAY.format(c="o"),
    sign="-",
    table="old_rows",
    # Calls of an account being deleted: its statistics go with it (cascade).
    where="EXISTS (SELECT 1 FROM vbot_account AS a WHERE a.id = o.account_id) {extra}",
)
_ADDED = _DELTA.format(
    c="n", day=_DAY.format(c="n"), sign="", table="new_rows", where="TRUE {extra}"
)
_CHANGED_ONLY = (
    "AND EXISTS (SELECT 1 FROM {other} WHERE {other_alias}.id = {alias}.id AND (" + _CHANGED + "))"
)
# One function and trigger per operation: PostgreSQL gives each its own transition tables.
_TRIGGERS = {
    "vbot_call_stat_insert": (
        "AFTER INSERT ON vbot_call REFERENCING NEW TABLE AS new_rows",
        _ADDED.format(extra=""),
    ),
    "vbot_call_stat_update": (
        "AFTER UPDATE ON vbot_call REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _REMOVED.format(
            extra=_CHANGED_ONLY.format(other="new_rows AS n", other_alias="n", alias="o")
        )
        + _ADDED.format(
            extra=_CHANGED_ONLY.format(other="old_rows AS o", other_alias="o", alias="n")
        ),
    ),
    "vbot_call_stat_delete": (
        "AFTER DELETE ON vbot_call REFERENCING OLD TABLE AS old_rows",
        _REMOVED.format(extra=""),
    ),
}

# The statements init() runs, made of the constants above (no value from outside).
_FUNCTIONS = {
    name: f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
    {body}
    RETURN NULL;
    END
    $$
    """
    for name, (_when, body) in _TRIGGERS.items()
}
_CREATE_TRIGGERS = {
    name: f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    for name, (when, _body) in _TRIGGERS.items()
}
_FILL = f"""
INSERT INTO vbot_call_stat (company_id, account_id, day, call_type, is_answered, calls,
                            talk_duration)
SELECT c.company_id, c.account_id, {_DAY.format(c="c")}, c.call_type, c.is_answered,
       count(*), COALESCE(sum(c.talk_duration), 0)
  FROM vbot_call AS c
 GROUP BY 1, 2, 3, 4, 5
"""


class VbotCallStat(models.Model):
    _name = "vbot.call.stat"
    _description = "VBot call statistics"
    _order = "day desc, id desc"
    _log_access = False

    company_id = fields.Many2one("res.company", readonly=True, required=True, index=True)
    account_id = fields.Many2one("vbot.account", readonly=True, required=True, ondelete="cascade")
    day = fields.Date(
        readonly=True, required=True, help="The calls' day in the VBot account's time zone."
    )
    call_type = fields.Selection(
        [(key, label) for key, label, _vi in CALL_TYPES], "Type", readonly=True
    )
    is_answered = fields.Boolean("Answered", readonly=True)
    calls = fields.Integer(readonly=True, aggregator="sum")
    talk_duration = fields.Integer("Talk time (s)", readonly=True, aggregator="sum")

    def init(self):
        res = super().init()
        cr = self.env.cr
        for function in _FUNCTIONS.values():
            cr.execute(function)
        cr.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'vbot_call'::regclass AND tgname LIKE "
            "'vbot_call_stat_%%'"
        )
        existing = {row[0] for row in cr.fetchall()}
        if not existing:
            # First install or upgrade: the calls stored so far, counted once.
            cr.execute("DELETE FROM vbot_call_stat")
            cr.execute(_FILL)
        for name, trigger in _CREATE_TRIGGERS.items():
            if name not in existing:
                cr.execute(trigger)
        return res

    @api.model
    def _compact(self):
        """Fold the deltas of each (company, account, day, type, outcome) into one row; drop
        the rows that count nothing. Run daily by a cron; the counts stay the same."""
        self.env.cr.execute(
            """
            WITH gone AS (
                DELETE FROM vbot_call_stat RETURNING company_id, account_id, day, call_type,
                                                     is_answered, calls, talk_duration
            )
            INSERT INTO vbot_call_stat (company_id, account_id, day, call_type, is_answered,
                                        calls, talk_duration)
            SELECT company_id, account_id, day, call_type, is_answered,
                   sum(calls), sum(talk_duration)
              FROM gone
             GROUP BY 1, 2, 3, 4, 5
            HAVING sum(calls) <> 0 OR sum(talk_duration) <> 0
            """
        )
        self.invalidate_model()
