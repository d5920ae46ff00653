# Screen timings at volume (issue 10), as a VBot user (record rules apply), server side.
# Exec'd at the end of scripts/benchmark.py inside `odoo shell` (``env`` and ``account``, the
# synced vbot.account, are given); alone: `odoo shell -d DB < scripts/bench_screens.py`.
# Each figure is the median of BENCH_SCREEN_RUNS runs (10) after one warm-up, the ORM cache
# emptied before each run (a request starts with an empty cache), PostgreSQL's warm.
# BENCH_COMPANY_CONTACTS (default 9 % of the contacts that have calls, about 30 % of the calls)
# of the busiest contacts are put under one company, the busiest company, through the ORM.
import os
import statistics
import time

from lxml import etree
from odoo import Command
from odoo.addons.vbot_call_history.services.phone import national_format
from odoo.modules.registry import Registry

_runs = int(os.environ.get("BENCH_SCREEN_RUNS", "10"))
_company = (
    account if "account" in globals() else env["vbot.account"].search([], limit=1)
).company_id
_Call = env["vbot.call"]


def _median_ms(run):
    run()
    times = []
    for _ in range(_runs):
        env.invalidate_all()
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    env.invalidate_all()
    return statistics.median(times)


def _report(label, ms, goal):
    verdict = "OK" if ms <= goal else "NOT MET"
    print(f"  {label:<58} {ms:8.1f} ms   (goal <= {goal:g} ms: {verdict})")


def _spec(arch, model_env, fields_info, top=True):
    """The web client's web_read specification of a view: its fields at that level, a
    many2one with its display name, an x2many with its sub-view's fields, limit and order."""
    spec = {}
    level = arch.xpath("count(ancestor-or-self::field)")
    for node in arch.xpath(f".//field[count(ancestor::field) = {level}]"):
        name = node.get("name")
        info = fields_info.get(name)
        if not info:
            continue
        entry = spec.setdefault(name, {})
        if info["type"] == "many2one":
            entry.setdefault("fields", {"display_name": {}})
        elif info["type"] in ("one2many", "many2many"):
            sub = node.xpath("./list|./kanban")
            if sub and top:
                comodel = env[info["relation"]]
                sub_info = comodel.fields_get(attributes=["type", "relation"])
                entry["fields"] = _spec(sub[0], comodel, sub_info, top=False)
                entry["limit"] = int(sub[0].get("limit") or 40)
                if sub[0].get("default_order"):
                    entry["order"] = sub[0].get("default_order")
            else:
                entry.setdefault("fields", {"display_name": {}})
    return spec


def _view_spec(model, view_type):
    view = model.get_views([(False, view_type)])
    arch = etree.fromstring(view["views"][view_type]["arch"])
    info = model.fields_get(attributes=["type", "relation"])
    return arch, _spec(arch, model, info)


print(f"== Screens (server time, as a VBot user; median of {_runs} runs) ==")

# The busiest contact, then the busiest company: its contacts, the busiest ones.
_by_partner = _Call.sudo()._read_group(
    [("partner_id", "!=", False), ("company_id", "=", _company.id)],
    ["partner_id"],
    ["__count"],
    order="__count desc",
)
_busiest_contact, _contact_calls = _by_partner[0]
_holding = env["res.partner"].search([("name", "=", "Bench Holding (busiest company)")], limit=1)
if not _holding:
    _share = int(os.environ.get("BENCH_COMPANY_CONTACTS") or max(2, len(_by_partner) * 9 // 100))
    _members = env["res.partner"].browse([p.id for p, _count in _by_partner[1 : _share + 1]])
    _holding = env["res.partner"].create(
        {"name": "Bench Holding (busiest company)", "is_company": True}
    )
    t0 = time.perf_counter()
    _members.write({"parent_id": _holding.id})
    env.flush_all()
    print(
        f"  {len(_members)} contacts put under one company in {time.perf_counter() - t0:.1f} s "
        "(their calls follow: commercial entity)"
    )
    env.cr.commit()
_company_calls = _Call.sudo().search_count([("commercial_partner_id", "=", _holding.id)])
_wrong = _Call.sudo().search_count(
    [("commercial_partner_id", "=", _holding.id), ("partner_id.parent_id", "!=", _holding.id)]
) + _Call.sudo().search_count(
    [("partner_id.parent_id", "=", _holding.id), ("commercial_partner_id", "!=", _holding.id)]
)
print(
    f"  busiest contact: {_busiest_contact.display_name} ({_contact_calls} calls); busiest "
    f"company: {_holding.name} ({_company_calls} calls, {_wrong} not following their contact)"
)

# Statistics read what autovacuum would have left after a bulk load (visibility map, stats).
with Registry(env.cr.dbname).cursor() as _vcr:
    _vcr._cnx.autocommit = True
    t0 = time.perf_counter()
    _vcr.execute("VACUUM ANALYZE vbot_call")
    print(f"  VACUUM ANALYZE vbot_call (what autovacuum does): {time.perf_counter() - t0:.1f} s")

_user = env["res.users"].search([("login", "=", "bench_vbot_user")], limit=1)
if not _user:
    _user = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Bench VBot user",
                "login": "bench_vbot_user",
                "company_id": _company.id,
                "company_ids": [Command.set(_company.ids)],
                "tz": "Asia/Ho_Chi_Minh",
                "groups_id": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref("vbot_call_history.group_vbot_user").id,
                        ]
                    )
                ],
            }
        )
    )
    env.cr.commit()
_uenv = env(
    user=_user.id,
    context={
        "lang": "en_US",
        "tz": "Asia/Ho_Chi_Minh",
        "uid": _user.id,
        "allowed_company_ids": _company.ids,
    },
)
_UCall = _uenv["vbot.call"]
_UPartner = _uenv["res.partner"]

# 1. Contacts -> Calls: the list's first page and its count, as web_search_read does.
_list_arch, _list_spec = _view_spec(_UCall, "list")
_list_order = _list_arch.get("default_order") or _UCall._order
_report(
    "Calls list, first page (80) + count",
    _median_ms(
        lambda: _UCall.web_search_read(
            [], _list_spec, offset=0, limit=80, order=_list_order, count_limit=10001
        )
    ),
    50,
)


# 2. The pivot month x type: the read_groups the pivot view makes (total, rows, columns, cells).
def _pivot():
    for groupby in ([], ["call_type"], ["call_date:month"], ["call_date:month", "call_type"]):
        _UCall.read_group([], ["__count"], groupby, lazy=False)


_report("Pivot month x type (its 4 read_groups)", _median_ms(_pivot), 500)
_report(
    "  of which the cells alone (month x type)",
    _median_ms(
        lambda: _UCall.read_group([], ["__count"], ["call_date:month", "call_type"], lazy=False)
    ),
    500,
)


# 2b. Contacts -> Calls -> Statistics: the same pivot over the counts kept ahead (vbot.call.stat).
_UStat = _uenv["vbot.call.stat"]


def _stat_pivot():
    for groupby in ([], ["call_type"], ["day:month"], ["day:month", "call_type"]):
        _UStat.read_group([], ["calls:sum"], groupby, lazy=False)


_stat_cells = _UStat.read_group([], ["calls:sum"], ["day:month", "call_type"], lazy=False)
_cells = _UCall.read_group([], ["__count"], ["call_date:month", "call_type"], lazy=False)
print(
    f"    Statistics count {sum(g['calls'] for g in _stat_cells)} calls, the calls' pivot "
    f"{sum(g['__count'] for g in _cells)}"
)
_report("Statistics pivot month x type (its 4 read_groups)", _median_ms(_stat_pivot), 500)

# 3. The busiest contact's and company's form (as the web client reads it), smart button.
_form_arch, _form_spec = _view_spec(_UPartner, "form")
_tab_spec = _form_spec.get("vbot_call_ids", {})
_member = _UPartner.browse(_by_partner[1][0].id)  # the busiest of the company's contacts
_member_calls = _Call.sudo().search_count([("partner_id", "=", _member.id)])
for _label, _partner in (
    ("contact", _busiest_contact),
    ("company", _holding),
    (f"company's contact ({_member_calls} calls)", _member),
):
    _record = _UPartner.browse(_partner.id)
    _report(
        f"Busiest {_label}: form (web_read, Calls tab limit {_tab_spec.get('limit')})",
        _median_ms(lambda r=_record: r.web_read(_form_spec)),
        50,
    )
    _report(
        "  the same form without the VBot fields (Odoo's own part)",
        _median_ms(
            lambda r=_record: r.web_read(
                {k: v for k, v in _form_spec.items() if not k.startswith("vbot_")}
            )
        ),
        50,
    )
    _report(
        f"Busiest {_label}: Calls tab + smart button only",
        _median_ms(
            lambda r=_record: r.web_read({"vbot_call_ids": _tab_spec, "vbot_call_count": {}})
        ),
        50,
    )
    _report(
        f"Busiest {_label}: smart button count alone",
        _median_ms(lambda r=_record: r.vbot_call_count),
        50,
    )
    _shown = _record.web_read({"vbot_call_ids": _tab_spec})[0]["vbot_call_ids"]
    _action = _record.action_vbot_open_calls()
    _report(
        f"Busiest {_label}: See all calls, first page + count",
        _median_ms(
            lambda a=_action: _UCall.web_search_read(
                a["domain"], _list_spec, offset=0, limit=80, order=_list_order, count_limit=10001
            )
        ),
        50,
    )
    print(
        f"    ({len(_shown)} rows read for the tab; the button says {_record.vbot_call_count_display})"
    )

# 4. Search by a number typed in any format: the list filtered by it.
_key = _busiest_contact.vbot_mobile_key or _busiest_contact.vbot_phone_key
_national = national_format(_key)
_digits = _key.lstrip("+")
for _typed in (_national, _key, f"{_digits[:2]}-{_digits[2:5]}-{_digits[5:8]}-{_digits[8:]}"):
    _domain = [("number_search", "ilike", _typed)]
    _report(
        f"Search {_typed!r}: first page + count",
        _median_ms(
            lambda d=_domain: _UCall.web_search_read(
                d, _list_spec, offset=0, limit=80, order=_list_order, count_limit=10001
            )
        ),
        50,
    )
print(f"    ({_UCall.search_count(_domain)} calls found for {_typed!r})")
env.cr.rollback()
