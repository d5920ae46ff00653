"""What webhooks do to calls, and the incoming-call card's data."""

from datetime import timedelta

from odoo import api, fields, models

from ..services.phone import match_key
from .vbot_call import _format_seconds, _resolve_candidates

#: Bus notification types the web client's incoming-call service listens to.
INCOMING = "vbot_call_history/incoming"
INCOMING_END = "vbot_call_history/incoming_end"
#: How long a card stays when no call log takes it away (a ringing call is given up by
#: VBot after about a minute).
CARD_TIMEOUT = 90
#: A ringing event delivered later than this (seconds) shows no card.
RING_MAX_AGE = 600
_MAX_NUMBER = 64


class WebhookStartOver(Exception):
    """Another transaction stored the call meanwhile: the request starts over, and sees it."""


class WebhookNotStored(Exception):
    """The database refused the call; ``str()`` names the VBot field at fault."""


class VbotCall(models.Model):
    _inherit = "vbot.call"

    # ------------------------------------------------------------------
    # Storing (called by vbot.account._webhook_receive, as superuser)
    # ------------------------------------------------------------------
    @api.model
    def _webhook_store_call(self, account, values):
        """Store a call a webhook delivered; never a second copy of one already stored.

        A call the sync (or an earlier webhook) stored is left as it is, but for a
        recording it lacked: the sync is the truth for everything else. Returns what was
        done: ``created``, ``recording`` or ``duplicate``.
        """
        call = self._find_call(account, values["external_id"])
        if call:
            return "recording" if call._vbot_add_recording(values["record_urls"]) else "duplicate"
        created, updated, failures = self._upsert_page_isolated(account, [values], origin="webhook")
        if failures:
            raise WebhookNotStored(str(failures[0][1]))
        if not (created or updated):
            raise WebhookStartOver()
        return "created"

    @api.model
    def _webhook_store_recording(self, account, external_id, urls):
        """Give the call its recording, or keep it until the call arrives."""
        call = self._find_call(account, external_id)
        if not call:
            self.env["vbot.call.pending"]._keep_recording(account, external_id, urls)
            return "pending"
        return "recording" if call._vbot_add_recording(urls) else "duplicate"

    @api.model
    def _find_call(self, account, external_id):
        return self.search(
            [("account_id", "=", account.id), ("external_id", "=", external_id)], limit=1
        )

    def _vbot_add_recording(self, urls):
        """Add recording URLs this call does not know yet; True when it changed."""
        self.ensure_one()
        known = self.recording_urls or []
        merged = known + [url for url in urls if url not in known]
        if not merged or (merged == known and self.has_recording):
            return False
        self.write({"has_recording": True, "recording_urls": merged})
        return True

    # ------------------------------------------------------------------
    # Ringing: the incoming-call card
    # ------------------------------------------------------------------
    @api.model
    def _webhook_ring(self, account, event):
        """Show the card of a ringing call to the agent it rings, else to every VBot user.

        Only the number and ids travel on the bus; the card asks for the rest with the
        user's own rights (``vbot.account.vbot_incoming_card``).
        """
        if self._find_call(account, event.external_id):
            return "not shown: the call has ended"  # its log came first (reordered delivery)
        if event.date and event.date < fields.Datetime.now() - timedelta(seconds=RING_MAX_AGE):
            return "not shown: rang too long ago"  # a late delivery
        users = self._webhook_ring_users(account, event.member_nos)
        if not users:
            return "ringing, no VBot user to show it to"
        payload = {
            "id": event.external_id,
            "account_id": account.id,
            "company_id": account.company_id.id,
            "number": event.number,
            "hotline": event.hotline,
            "date": fields.Datetime.to_string(event.date) if event.date else False,
            "timeout": CARD_TIMEOUT,
        }
        users._bus_send(INCOMING, payload)
        self.env["vbot.call.pending"]._keep_ring(account, event.external_id, users.partner_id)
        return f"ringing, shown to {len(users)} user(s)"

    @api.model
    def _webhook_ring_users(self, account, member_nos):
        """The VBot users of the account's company mapped to the rung agent (the account's
        agents, ``vbot.member``), else every VBot user of the company."""
        group = self.env.ref("vbot_call_history.group_vbot_user")
        domain = [
            ("share", "=", False),
            ("company_ids", "in", account.company_id.ids),
            ("groups_id", "in", group.ids),
        ]
        Users = self.env["res.users"].sudo().with_context(active_test=True)
        users = Users
        if member_nos:
            mapped = (
                self.env["vbot.member"].sudo()._users_by_member_no(account.ids, set(member_nos))
            )
            user_ids = {user_id for user_id in mapped.values() if user_id}
            if user_ids:
                users = Users.search([*domain, ("id", "in", list(user_ids))])
        return users or Users.search(domain)

    @api.model
    def _webhook_ring_end(self, account, external_id):
        """Take the card of a call away from whoever was shown it (its call log came)."""
        partners = self.env["vbot.call.pending"]._pop_ring(account, external_id)
        if partners:
            partners._bus_send(INCOMING_END, {"id": external_id, "account_id": account.id})

    @api.model
    def _incoming_card(self, company, number):
        """What the incoming-call card shows about ``number``, read with this env's rights.

        The contact owning the number in ``company`` (name, company, salesperson, photo),
        its last three calls and open activities; for an unknown number, the calls from it
        and whether the user may create a contact. Reached through
        ``vbot.account.vbot_incoming_card``, which checks the caller.
        """
        number = number[:_MAX_NUMBER] if isinstance(number, str) else ""
        key = match_key(number)
        Partner = self.env["res.partner"].with_context(active_test=True)
        partners = Partner.browse()
        if key:
            partners = Partner.search(
                ["|", ("vbot_phone_key", "=", key), ("vbot_mobile_key", "=", key)], limit=20
            ).filtered(lambda p: not p.company_id or p.company_id == company)
        state, partner_id, candidate_ids = _resolve_candidates(list(partners))
        partner = Partner.browse(partner_id)
        if partner:
            call_domain = partner._vbot_call_domain()
        elif key:
            call_domain = [("customer_key", "=", key)]
        else:
            call_domain = [("id", "=", False)]
        calls = self.search([*call_domain, ("company_id", "=", company.id)], limit=3)
        return {
            "number": number,
            "match_state": state if key else "no_number",
            "partner": _card_partner(partner) if partner else False,
            "candidates": [
                {"id": p.id, "name": p.display_name} for p in Partner.browse(candidate_ids)
            ],
            "calls": [_card_call(call) for call in calls],
            "activities": _card_activities(partner) if partner else [],
            "can_create_partner": Partner.has_access("create"),
            # The sales screens' own entry points: a contact made from the number (every
            # call of the number moves to it), and the list of unknown numbers.
            "create_action": (
                self.env["vbot.number.assign"]._open(company, key, "create")
                if key and not partner and Partner.has_access("create")
                else False
            ),
            "unknown_action": "vbot_call_history.vbot_unknown_number_action",
        }


def _card_partner(partner):
    company = partner.commercial_partner_id if partner.parent_id else partner.browse()
    return {
        "id": partner.id,
        "name": partner.name or partner.display_name,
        "company": company.name or "",
        "is_company": partner.is_company,
        "function": partner.function or "",
        "salesperson": partner.user_id.name or "",
        "email": partner.email or "",
        "image": f"/web/image/res.partner/{partner.id}/avatar_128",
    }


def _card_call(call):
    types = dict(call._fields["call_type"]._description_selection(call.env))
    outcomes = dict(call._fields["disposition"]._description_selection(call.env))
    return {
        "id": call.id,
        "date": fields.Datetime.to_string(call.call_date),
        "call_type": call.call_type,
        "call_type_label": types.get(call.call_type, ""),
        "disposition": call.disposition or "",
        "disposition_label": outcomes.get(call.disposition, call.disposition_raw or ""),
        "agent": call.user_id.name or call.agent_member_no or "",
        "talk_time": _format_seconds(call.talk_duration),
    }


def _card_activities(partner):
    activities = partner.env["mail.activity"].search(
        [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)],
        order="date_deadline, id",
        limit=5,
    )
    return [
        {
            "id": activity.id,
            "summary": activity.summary or activity.activity_type_id.name or "",
            "type": activity.activity_type_id.name or "",
            "date_deadline": fields.Date.to_string(activity.date_deadline),
            "state": activity.state,
            "user": activity.user_id.name or "",
        }
        for activity in activities
    ]
