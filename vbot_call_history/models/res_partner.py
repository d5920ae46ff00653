from collections import defaultdict

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools.sql import create_index

from ..services.phone import match_key, national_format
from .access import USER, require
from .vbot_account import notification

_KEY_FIELDS = ("vbot_phone_key", "vbot_mobile_key")
# How many of its newest calls a contact's Calls tab shows (the list behind See all calls
# has them all).
VBOT_TAB_CALLS = 20
# The smart button counts up to this many calls, then says "10000+" (as Odoo's lists do):
# counting a company's 300,000 calls would cost more than showing its form.
VBOT_COUNT_LIMIT = 10000


class ResPartner(models.Model):
    _inherit = "res.partner"

    vbot_phone_key = fields.Char(
        "VBot phone key",
        compute="_compute_vbot_keys",
        store=True,
        index=True,
        help="The phone number normalized for matching VBot calls.",
    )
    vbot_mobile_key = fields.Char(
        "VBot mobile key",
        compute="_compute_vbot_keys",
        store=True,
        index=True,
        help="The mobile number normalized for matching VBot calls.",
    )
    vbot_call_ids = fields.Many2many(
        "vbot.call",
        string="Latest calls",
        compute="_compute_vbot_call_ids",
        groups="vbot_call_history.group_vbot_user",
        help="The newest calls of this contact and of its contacts (the Calls tab); the "
        "smart button lists them all.",
    )
    vbot_call_count = fields.Integer(
        "Number of calls",
        compute="_compute_vbot_call_count",
        groups="vbot_call_history.group_vbot_user",
        help="Counted up to 10,000; more reads 10,001.",
    )
    vbot_call_count_display = fields.Char(
        "Calls",
        compute="_compute_vbot_call_count",
        groups="vbot_call_history.group_vbot_user",
    )
    vbot_number_notice = fields.Text(
        "Shared numbers",
        compute="_compute_vbot_number_notice",
        groups="vbot_call_history.group_vbot_user",
        help="Why some calls with this contact's numbers are not on it.",
    )

    @api.depends("phone", "mobile")
    def _compute_vbot_keys(self):
        for partner in self:
            partner.vbot_phone_key = match_key(partner.phone) or False
            partner.vbot_mobile_key = match_key(partner.mobile) or False

    def _compute_vbot_call_ids(self):
        # Only the rows the tab shows: one index range read newest first, at any volume.
        Call = self.env["vbot.call"]
        for partner in self:
            partner.vbot_call_ids = (
                Call.search(partner._vbot_call_domain(), limit=VBOT_TAB_CALLS)
                if partner.id
                else Call
            )

    def _compute_vbot_call_count(self):
        Call = self.env["vbot.call"]
        for partner in self:
            count = (
                Call.search_count(partner._vbot_call_domain(), limit=VBOT_COUNT_LIMIT + 1)
                if partner.id
                else 0
            )
            partner.vbot_call_count = count
            partner.vbot_call_count_display = (
                f"{VBOT_COUNT_LIMIT}+" if count > VBOT_COUNT_LIMIT else str(count)
            )

    def _compute_vbot_number_notice(self):
        for partner in self:
            lines = [issue["message"] for issue in partner._vbot_number_issues()]
            partner.vbot_number_notice = "\n".join(lines) or False

    def _vbot_number_issues(self):
        """This contact's numbers whose calls are not on it: shared with contacts of other
        companies (ambiguous, unassigned) or given by hand to another contact.

        A list of ``{company, key, message}``, ambiguous numbers first.
        """
        self.ensure_one()
        keys = self._vbot_keys()
        if not self.id or not keys:
            return []
        Call = self.env["vbot.call"].sudo()
        issues = []
        ambiguous = Call._read_group(
            [("customer_key", "in", list(keys)), ("match_state", "=", "ambiguous")],
            ["company_id", "customer_key"],
            ["__count"],
        )
        holders = self._vbot_partners_by_key({key for _company, key, _count in ambiguous})
        for company, key, count in ambiguous:
            others = [
                p.display_name
                for p in holders.get(key, [])
                if p.commercial_partner_id != self.commercial_partner_id
                and (not p.company_id or p.company_id == company)
            ]
            if not others:
                continue
            message = self.env._(
                "%(number)s is also on %(others)s; its %(count)s calls are unassigned until you choose.",
                number=national_format(key),
                others=", ".join(others),
                count=count,
            )
            issues.append({"company": company, "key": key, "message": message})
        links = (
            self.env["vbot.number.link"]
            .sudo()
            .search([("customer_key", "in", list(keys)), ("partner_id", "!=", self.id)])
        )
        for link in links:
            if link.partner_id.commercial_partner_id == self.commercial_partner_id:
                continue
            message = self.env._(
                "Calls from %(number)s go to %(contact)s, as chosen by %(user)s.",
                number=link.number or national_format(link.customer_key),
                contact=link.partner_id.display_name,
                user=link.create_uid.name,
            )
            issues.append(
                {"company": link.company_id, "key": link.customer_key, "message": message}
            )
        return issues

    def _vbot_call_domain(self):
        """The calls shown on these contacts: their own and their contacts' calls, i.e.
        ``[("partner_id", "child_of", self.ids)]``.

        The Calls tab, the smart button's count and the list it opens all use it. Said
        through the calls' stored commercial entity where that is the same set of calls (a
        company, or a contact without a company, with no company among its contacts): one
        range of ``vbot_call_commercial_date_idx``, newest first, however many calls. Other
        contacts (a person in a company) name their contacts (archived ones too, as
        ``child_of`` does); a company above other companies names their entities too.
        """
        ids = [pid for pid in self.ids if pid]
        if not ids:
            return list(expression.FALSE_DOMAIN)
        Partner = self.sudo().with_context(active_test=False)
        partners = Partner.browse(ids)
        commercial = partners.filtered(lambda p: p.commercial_partner_id == p)
        others = partners - commercial
        domains = []
        if commercial:
            entities = commercial._vbot_commercial_entities()
            domains.append([("commercial_partner_id", "in", entities)])
        if others:
            children = Partner.search([("id", "child_of", others.ids)], order="id")
            domains.append([("partner_id", "in", children.ids)])
        return expression.OR(domains)

    def _vbot_commercial_entities(self):
        """The ids of these commercial entities and of every company below them.

        A company among a company's contacts is its own commercial entity: its calls (and
        its contacts') are under the upper company too, as ``child_of`` says. Such companies
        are few: one query reads them all (through ``res_partner_vbot_company_below_idx``).
        """
        self.env["res.partner"].flush_model(["is_company", "parent_id", "commercial_partner_id"])
        self.env.cr.execute(
            """
            SELECT upper.commercial_partner_id, lower.id
              FROM res_partner AS lower
              JOIN res_partner AS upper ON upper.id = lower.parent_id
             WHERE lower.is_company AND lower.parent_id IS NOT NULL
            """
        )
        below = defaultdict(list)
        for upper_id, lower_id in self.env.cr.fetchall():
            below[upper_id].append(lower_id)
        found = set(self.ids)
        todo = list(found)
        while todo:
            for lower_id in below.get(todo.pop(), ()):
                if lower_id not in found:
                    found.add(lower_id)
                    todo.append(lower_id)
        return sorted(found)

    def init(self):
        res = super().init()
        # The companies below another partner (few): see _vbot_commercial_entities.
        create_index(
            self.env.cr,
            "res_partner_vbot_company_below_idx",
            self._table,
            ["parent_id"],
            where="is_company AND parent_id IS NOT NULL",
        )
        return res

    # ------------------------------------------------------------------
    # CRUD: calls follow the contacts that own their numbers
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        self.env["vbot.call"]._rematch_keys(partners._vbot_keys())
        return partners

    def write(self, vals):
        relevant = {"phone", "mobile", "active", "parent_id", "company_id", "is_company"}
        if not relevant.intersection(vals):
            return super().write(vals)
        old_keys = self._vbot_keys()
        result = super().write(vals)
        self.env["vbot.call"]._rematch_keys(old_keys | self._vbot_keys())
        return result

    def unlink(self):
        # Calls left without a contact go to whoever else has their number; calls a
        # merge already moved to the surviving contact stay there.
        keys = self._vbot_keys()
        result = super().unlink()
        self.env["vbot.call"]._rematch_keys(keys, [("partner_id", "=", False)])
        return result

    def _vbot_keys(self):
        return {
            key
            for partner in self
            for key in (partner.vbot_phone_key, partner.vbot_mobile_key)
            if key
        }

    # ------------------------------------------------------------------
    # Matching
    # ------------------------------------------------------------------
    @api.model
    def _vbot_partners_by_key(self, keys):
        """{key: [active contacts having that key as phone or mobile]}, one query."""
        if not keys:
            return {}
        keys = list(keys)
        partners = (
            self.sudo()
            .with_context(active_test=True)
            .search(["|", ("vbot_phone_key", "in", keys), ("vbot_mobile_key", "in", keys)])
        )
        by_key = defaultdict(list)
        for partner in partners:
            for name in _KEY_FIELDS:
                key = partner[name]
                if key and partner not in by_key[key]:
                    by_key[key].append(partner)
        return by_key

    @api.model
    def name_search(self, name="", args=None, operator="ilike", limit=100):
        """Contacts first that the context names as candidates (``vbot_candidate_ids``):
        the contacts sharing a number, when a user picks the one its calls go to."""
        result = super().name_search(name, args, operator, limit)
        ids = self.env.context.get("vbot_candidate_ids")
        if not isinstance(ids, list | tuple):
            return result
        ids = [i for i in ids if isinstance(i, int)]
        if not ids:
            return result
        first = super().name_search(name, [*(args or []), ("id", "in", ids)], operator, limit)
        seen = {row[0] for row in first}
        return (first + [row for row in result if row[0] not in seen])[:limit]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_vbot_choose_number(self):
        """Choose which contact a shared number's calls go to (from the Calls tab)."""
        require(self.env, USER)
        self.ensure_one()
        self.check_access("read")
        issues = self._vbot_number_issues()
        if not issues:
            return notification(
                self.env._("Shared numbers"),
                self.env._("Every call with this contact's numbers is on a contact."),
            )
        issue = issues[0]
        require(self.env, USER, issue["company"])
        return self.env["vbot.number.assign"]._open(issue["company"], issue["key"], "link")

    def action_vbot_open_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("vbot_call_history.vbot_call_action")
        action["domain"] = self._vbot_call_domain()
        action["context"] = {"default_partner_id": self.id}
        action["display_name"] = self.env._("Calls of %(name)s", name=self.display_name)
        return action

    def action_vbot_fetch_calls(self):
        """Ask VBot for this contact's history (by its numbers, in every spelling VBot may
        hold: as saved, and each match key in national format) and store it now."""
        self.env["vbot.account"]._check_vbot_caller("vbot_call_history.group_vbot_user")
        self.ensure_one()
        title = self.env._("Fetch calls")
        numbers = [n for n in (self.phone, self.mobile) if n and n.strip()]
        if not numbers:
            return notification(title, self.env._("This contact has no phone number."), "warning")
        account = self.env["vbot.account"]._account_for_partner(self)
        if not account:
            message = self.env._("No active VBot account is configured for this company.")
            return notification(title, message, "warning")
        account = account.with_env(self.env)._check_vbot_caller("vbot_call_history.group_vbot_user")
        # VBot is asked for every spelling of each number (services.phone.search_forms).
        return account._run_sync("numbers", "contact", numbers=numbers)._notification(title)
