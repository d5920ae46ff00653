"""The webhook endpoint over real HTTP: storing, refusing, ringing, and agreeing with the sync."""

import json
import uuid
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from vbot_simulator.webhooks import minimal_call_log

from ..models.vbot_call_webhook import INCOMING, INCOMING_END
from ..services.webhook import MAX_BODY_BYTES
from .common import (
    WEBHOOK_SECRET,
    enable_webhooks,
    setup_simulated_account,
    webhook_sample,
)

GROUP_ID = "0604202611541175360ecb41aa46388bc9816f9e3925fe"
RECORD_URL = f"https://open-api-h01.vbot.vn/v2.0/api/crm/historycall/record/{GROUP_ID}"


class WebhookCase(HttpCase):
    sim_config = {"calls": 40, "seed": 11, "days": 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        setup_simulated_account(cls, initial_days=3)
        cls.path = enable_webhooks(cls.account)

    def post(self, body, auth=WEBHOOK_SECRET, path=None, headers=None):
        """POST ``body`` (bytes, or an object sent as JSON) as VBot would; the response."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        if auth is not None:
            headers["Authorization"] = auth
        self.env.flush_all()
        response = self.opener.post(
            self.base_url() + (path or self.path), data=data, headers=headers, timeout=30
        )
        self.env.invalidate_all()
        return response

    def calls(self):
        return self.Call.search([("account_id", "=", self.account.id)])

    def last_log(self):
        return self.env["vbot.webhook.log"].search([("account_id", "=", self.account.id)], limit=1)


@tagged("post_install", "-at_install")
class TestWebhookStore(WebhookCase):
    def test_a_call_log_is_stored_once_on_its_contact(self):
        partner = self.env["res.partner"].create({"name": "Anh Đạt", "mobile": "036 430 7520"})
        response = self.post(webhook_sample("MANUAL_CALL_LOG"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json(),
            {"ok": True, "event": "MANUAL_CALL_LOG", "id": GROUP_ID, "result": "created"},
        )
        call = self.calls()
        self.assertEqual(len(call), 1)
        self.assertEqual(call.external_id, GROUP_ID)
        self.assertEqual(call.origin, "webhook")
        self.assertEqual(call.partner_id, partner)
        self.assertEqual(call.call_date, datetime(2026, 4, 6, 4, 54, 11))
        self.assertEqual((call.call_type, call.disposition), ("outgoing", "answer"))
        self.assertEqual((call.talk_duration, call.duration, call.cost), (15, 21, 162.6))
        self.assertFalse(call.has_recording)
        # Delivered again (VBot retries): still one call.
        again = self.post(webhook_sample("MANUAL_CALL_LOG"))
        self.assertEqual(again.json()["result"], "duplicate")
        self.assertEqual(len(self.calls()), 1)
        self.assertEqual(self.account.webhook_accepted_count, 2)
        self.assertEqual(self.account.webhook_rejected_count, 0)

    def test_a_recording_before_its_call_waits_for_it(self):
        response = self.post(webhook_sample("MANUAL_CALL_RECORDING"))
        self.assertEqual(response.json()["result"], "pending")
        self.assertFalse(self.calls())
        self.post(webhook_sample("MANUAL_CALL_LOG"))
        call = self.calls()
        self.assertEqual(len(call), 1)
        self.assertTrue(call.has_recording)
        self.assertEqual(call.recording_urls, [RECORD_URL])
        self.assertFalse(self.env["vbot.call.pending"].search([("external_id", "=", GROUP_ID)]))

    def test_a_recording_after_its_call_updates_it(self):
        self.post(webhook_sample("MANUAL_CALL_LOG"))
        response = self.post(webhook_sample("MANUAL_CALL_RECORDING"))
        self.assertEqual(response.json()["result"], "recording")
        self.assertEqual(self.calls().recording_urls, [RECORD_URL])
        self.assertEqual(
            self.post(webhook_sample("MANUAL_CALL_RECORDING")).json()["result"], "duplicate"
        )

    def test_call_complete_brings_call_and_recording(self):
        response = self.post(webhook_sample("MANUAL_CALL_COMPLETE"))
        self.assertEqual(response.json()["event"], "MANUAL_CALL_COMPLETE")
        call = self.calls()
        self.assertEqual(len(call), 1)
        self.assertTrue(call.has_recording)

    def test_auto_calls_are_accepted_and_ignored(self):
        response = self.post(webhook_sample("AUTO_CALL_COMPLETE"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["result"], "ignored")
        self.assertFalse(self.calls())
        self.assertEqual(self.last_log().state, "ignored")

    def test_webhooks_then_the_sync_give_the_sync_values_once(self):
        self.account.webhook_since = fields.Datetime.now() - timedelta(days=3)
        groups = self.sim.state.calls[:12]
        # Five calls arrive by webhook, two of them as VBot's legacy HISTORY_CALL.
        for index, group in enumerate(groups[:5]):
            body = group if index < 2 else minimal_call_log(group)
            self.assertEqual(self.post(body).json()["result"], "created")
        self.account._run_sync()
        calls = self.calls()
        self.assertEqual(len(calls), len(self.sim.state.calls))
        self.assertEqual(len(set(calls.mapped("external_id"))), len(calls))
        by_id = {call.external_id: call for call in calls}
        self.assertEqual(
            {by_id[g["group_id"]].origin for g in groups[:5]}, {"webhook"}, "first arrival kept"
        )
        self.assertEqual({by_id[g["group_id"]].origin for g in groups[5:]}, {"sync"})
        # The sync (the truth) wrote VBot's group over what the webhook said.
        for group in groups[:5]:
            self.assertEqual(json.loads(by_id[group["group_id"]].payload), group)
        log = self.account.last_sync_log_id
        self.assertEqual(log.webhook_missed_count, len(self.sim.state.calls) - 5)
        self.assertIn(
            f"{len(self.sim.state.calls) - 5} call(s) arrived only through the sync", log.message
        )

    def test_calls_remember_how_they_arrived(self):
        customer = self.sim.state.customers[0]
        partner = self.env["res.partner"].create(
            {"name": customer["name"], "phone": customer["phone"]}
        )
        partner.action_vbot_fetch_calls()
        fetched = self.calls()
        self.assertTrue(fetched)
        self.assertEqual(set(fetched.mapped("origin")), {"fetch"})
        self.account._run_sync()
        self.assertEqual(set(fetched.mapped("origin")), {"fetch"}, "kept by the sync")
        self.assertEqual(set((self.calls() - fetched).mapped("origin")), {"sync"})

    def test_the_sync_first_then_a_webhook_changes_nothing(self):
        self.account._run_sync()
        group = self.sim.state.calls[0]
        call = self.calls().filtered(lambda c: c.external_id == group["group_id"])
        before = call.read(["call_date", "call_type", "partner_id", "payload", "write_date"])
        self.assertEqual(self.post(minimal_call_log(group)).json()["result"], "duplicate")
        self.assertEqual(
            call.read(["call_date", "call_type", "partner_id", "payload", "write_date"]), before
        )
        self.assertEqual(call.origin, "sync")

    def test_a_webhook_racing_a_sync_page_starts_over_and_finds_the_call(self):
        """A transaction that began before another stored the call does not see it: its
        insert fails on the unique key, and the request starts over in a new transaction,
        which sees that call. Here the first attempt is made blind to the stored call."""
        self.post(webhook_sample("MANUAL_CALL_LOG"))
        Call = type(self.env["vbot.call"])
        find_call, search_fetch = Call._find_call, Call.search_fetch
        attempts = []

        def blind_find_call(model, account, external_id):
            attempts.append(external_id)
            if len(attempts) == 1:
                return model.browse()
            return find_call(model, account, external_id)

        def blind_search_fetch(model, domain, *args, **kwargs):
            if len(attempts) == 1:
                domain = [*domain, ("id", "=", 0)]
            return search_fetch(model, domain, *args, **kwargs)

        with (
            patch.object(Call, "_find_call", blind_find_call),
            patch.object(Call, "search_fetch", blind_search_fetch),
        ):
            response = self.post(webhook_sample("MANUAL_CALL_COMPLETE"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["result"], "recording")
        self.assertEqual(len(attempts), 2, "started over once")
        self.assertEqual(len(self.calls()), 1)
        self.assertTrue(self.calls().has_recording)

    def test_an_event_name_header_is_honoured(self):
        body = json.loads(webhook_sample("MANUAL_CALL_LOG"))
        response = self.post(body, headers={"X-VBot-Event": "P2P_CALL_LOG"})
        self.assertEqual(response.json()["event"], "P2P_CALL_LOG")
        self.assertEqual(response.json()["result"], "ignored")
        self.assertFalse(self.calls(), "internal calls are left to the sync")


@tagged("post_install", "-at_install")
class TestWebhookRefusals(WebhookCase):
    def assertRefused(self, response, status, reason):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["ok"], False)
        self.assertIn(reason, response.json()["error"])
        self.assertFalse(self.calls(), "nothing is written")
        self.assertFalse(self.env["vbot.call.pending"].search([]))
        self.assertIn(reason, self.account.webhook_last_rejection)
        self.assertTrue(self.account.webhook_last_rejection_date)

    def test_missing_and_wrong_auth(self):
        self.assertRefused(
            self.post(webhook_sample("MANUAL_CALL_LOG"), auth=None), 401, "missing auth"
        )
        self.assertRefused(
            self.post(webhook_sample("MANUAL_CALL_LOG"), auth="guess"), 401, "wrong auth"
        )
        self.assertRefused(
            self.post(webhook_sample("MANUAL_CALL_LOG"), auth=WEBHOOK_SECRET[:-1]),
            401,
            "wrong auth",
        )
        self.assertEqual(self.account.webhook_rejected_count, 3)
        # The secret as a Bearer token is the same secret.
        response = self.post(webhook_sample("MANUAL_CALL_LOG"), auth=f"Bearer {WEBHOOK_SECRET}")
        self.assertEqual(response.status_code, 200)

    def test_a_10_mib_body_is_refused_unread(self):
        body = b'{"transId": "' + b"x" * (10 * 1024 * 1024) + b'"}'
        self.assertRefused(self.post(body), 413, "body over 256 KiB")

    def test_just_over_the_limit_is_refused_just_under_is_read(self):
        self.assertRefused(self.post(b" " * (MAX_BODY_BYTES + 1)), 413, "body over")
        padded = webhook_sample("MANUAL_CALL_LOG").ljust(MAX_BODY_BYTES, b" ")
        self.assertEqual(self.post(padded).status_code, 200)

    def test_malformed_bodies(self):
        self.assertRefused(self.post(b"{not json"), 400, "not valid JSON")
        self.assertRefused(self.post(b"\xff\xfe"), 400, "not UTF-8")
        self.assertRefused(self.post(b"[1, 2]"), 400, "expected a JSON object")
        self.assertRefused(self.post({"hello": "world"}), 400, "unknown event shape")
        bad_date = dict(json.loads(webhook_sample("MANUAL_CALL_LOG")), createAt="hôm qua")
        self.assertRefused(self.post(bad_date), 400, "createAt")
        self.assertRefused(
            self.post({"transId": "x" * 500, "recordUrl": RECORD_URL}), 400, "longer"
        )
        self.assertEqual(self.last_log().status, 400)

    def test_an_unknown_uuid_is_any_wrong_path(self):
        unknown = self.post(
            webhook_sample("MANUAL_CALL_LOG"), path=f"/vbot_call_history/webhook/{uuid.uuid4()}"
        )
        junk = self.post(
            webhook_sample("MANUAL_CALL_LOG"), path="/vbot_call_history/webhook/x' OR 1=1"
        )
        wrong = self.post(
            webhook_sample("MANUAL_CALL_LOG"), path="/vbot_call_history/no-such-hook/1"
        )
        for response in (unknown, junk):
            self.assertEqual(response.status_code, 404)
            self.assertEqual(response.text, wrong.text)
            self.assertEqual(response.headers["Content-Type"], wrong.headers["Content-Type"])
        self.assertFalse(self.env["vbot.webhook.log"].search([]))

    def test_webhooks_off_is_404(self):
        self.account.webhook_active = False
        response = self.post(webhook_sample("MANUAL_CALL_LOG"))
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.calls())

    def test_a_new_url_retires_the_old_one(self):
        old_path = self.path
        self.account.action_webhook_regenerate_url()
        self.assertEqual(
            self.post(webhook_sample("MANUAL_CALL_LOG"), path=old_path).status_code, 404
        )
        new_path = f"/vbot_call_history/webhook/{self.account.webhook_uuid}"
        self.assertEqual(
            self.post(webhook_sample("MANUAL_CALL_LOG"), path=new_path).status_code, 200
        )


@tagged("post_install", "-at_install")
class TestWebhookSecret(WebhookCase):
    def test_managers_generate_it_and_see_it_once(self):
        manager = new_test_user(
            self.env, "vbot_manager", groups="base.group_user,vbot_call_history.group_vbot_manager"
        )
        account = self.account.with_user(manager)
        action = account.action_webhook_generate_secret()
        secret = action["context"]["default_secret"]
        self.assertEqual(action["res_model"], "vbot.webhook.secret")
        self.assertGreaterEqual(len(secret), 40)
        self.assertTrue(account.webhook_has_secret)
        self.assertIn(account.webhook_uuid, action["context"]["default_url"])
        # Only a digest is kept, readable by system administrators alone.
        self.assertNotEqual(self.account.sudo().webhook_secret_hash, secret)
        with self.assertRaises(AccessError):
            account.read(["webhook_secret_hash"])
        self.assertEqual(self.post(webhook_sample("MANUAL_CALL_LOG"), auth=secret).status_code, 200)
        self.assertEqual(self.post(webhook_sample("MANUAL_CALL_LOG")).status_code, 401)

    def test_vbot_users_cannot_touch_it(self):
        user = new_test_user(
            self.env, "vbot_user", groups="base.group_user,vbot_call_history.group_vbot_user"
        )
        with self.assertRaises(AccessError):
            self.account.with_user(user).action_webhook_generate_secret()
        with self.assertRaises(AccessError):
            self.account.with_user(user).action_webhook_regenerate_url()
        self.assertEqual(self.post(webhook_sample("MANUAL_CALL_LOG")).status_code, 200)


@tagged("post_install", "-at_install")
class TestWebhookRinging(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,vbot_call_history.group_vbot_user"
        cls.agent = new_test_user(cls.env, "agent_104", groups=groups, vbot_member_no="104")
        cls.colleague = new_test_user(cls.env, "agent_105", groups=groups, vbot_member_no="105")
        cls.outsider = new_test_user(cls.env, "not_vbot", groups="base.group_user")
        other_company = cls.env["res.company"].create({"name": "Other company"})
        cls.other = new_test_user(
            cls.env,
            "other_company",
            groups=groups,
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )

    def ring(self, member_no="104", number="0364307520", trans_id=GROUP_ID):
        body = {
            "transId": trans_id,
            "caller": number,
            "callee": "842455599940",
            "calleeMemberNo": member_no,
            "hotline": "842455599940",
            "createAt": int(datetime.now().timestamp() * 1000),
        }
        return self.post(body)

    def notified(self, notification_type):
        """{partner: payload} of the bus notifications of this type."""
        found = {}
        for row in self.env["bus.bus"].sudo().search([]):
            message = json.loads(row.message)
            if message["type"] == notification_type:
                channel = json.loads(row.channel)
                found[self.env[channel[1]].browse(channel[2])] = message["payload"]
        return found

    def test_the_rung_agent_gets_the_card_then_loses_it(self):
        response = self.ring("104")
        self.assertEqual(response.status_code, 200)
        self.assertIn("shown to 1 user", response.json()["result"])
        notified = self.notified(INCOMING)
        self.assertEqual(list(notified), [self.agent.partner_id])
        payload = notified[self.agent.partner_id]
        self.assertEqual(payload["number"], "0364307520")
        self.assertEqual(payload["id"], GROUP_ID)
        self.assertEqual(
            set(payload), {"id", "account_id", "company_id", "number", "hotline", "date", "timeout"}
        )
        # The call log of that call takes the card away from whoever was shown it.
        self.post(webhook_sample("MANUAL_CALL_LOG"))
        self.assertEqual(list(self.notified(INCOMING_END)), [self.agent.partner_id])
        self.assertEqual(len(self.calls()), 1)
        self.assertFalse(self.env["vbot.call.pending"].search([]))

    def test_no_card_for_a_call_that_ended_or_rang_long_ago(self):
        self.post(webhook_sample("MANUAL_CALL_LOG"))
        self.assertIn("ended", self.ring("104").json()["result"])
        old = {
            "transId": "old-ring",
            "caller": "0364307520",
            "calleeMemberNo": "104",
            "createAt": int((datetime.now() - timedelta(hours=1)).timestamp() * 1000),
        }
        self.assertIn("too long ago", self.post(old).json()["result"])
        self.assertFalse(self.notified(INCOMING))

    def test_an_unmapped_extension_rings_every_vbot_user_of_the_company(self):
        self.ring("999")
        notified = set(self.notified(INCOMING))
        self.assertIn(self.agent.partner_id, notified)
        self.assertIn(self.colleague.partner_id, notified)
        self.assertNotIn(self.outsider.partner_id, notified)
        self.assertNotIn(self.other.partner_id, notified)

    def test_the_card_data_is_read_with_the_users_rights(self):
        salesperson = new_test_user(
            self.env, "sales_rep", groups="base.group_user", name="Trần Thu Hà"
        )
        company = self.env["res.partner"].create({"name": "Công ty An Phát", "is_company": True})
        partner = self.env["res.partner"].create(
            {
                "name": "Anh Đạt",
                "mobile": "+84 364 307 520",
                "parent_id": company.id,
                "user_id": salesperson.id,
            }
        )
        partner.activity_schedule(
            "mail.mail_activity_data_call", summary="Gọi lại báo giá", user_id=self.agent.id
        )
        self.post(webhook_sample("MANUAL_CALL_COMPLETE"))
        card = self.account.with_user(self.agent).vbot_incoming_card("0364307520")
        json.dumps(card)  # what the RPC answers
        self.assertEqual(card["partner"]["name"], "Anh Đạt")
        self.assertEqual(card["partner"]["company"], "Công ty An Phát")
        self.assertEqual(card["partner"]["salesperson"], "Trần Thu Hà")
        self.assertEqual(
            card["partner"]["image"], f"/web/image/res.partner/{partner.id}/avatar_128"
        )
        self.assertEqual([c["disposition"] for c in card["calls"]], ["answer"])
        self.assertEqual([a["summary"] for a in card["activities"]], ["Gọi lại báo giá"])
        unknown = self.account.with_user(self.agent).vbot_incoming_card("0987 654 321")
        json.dumps(unknown)
        self.assertIs(unknown["partner"], False)
        self.assertEqual(unknown["match_state"], "unmatched")
        self.assertFalse(unknown["calls"])
        for user in (self.outsider, self.other):
            with self.assertRaises(AccessError):
                self.account.with_user(user).vbot_incoming_card("0364307520")


@tagged("post_install", "-at_install")
class TestWebhookScheduling(WebhookCase):
    def test_with_webhooks_the_cron_verifies_less_often(self):
        self.account.webhook_sync_minutes = 60
        self.account._run_sync()
        first = self.account.last_sync_log_id
        self.env["vbot.account"]._cron_sync()
        self.assertEqual(self.account.last_sync_log_id, first, "not due yet")
        first.date_start = fields.Datetime.now() - timedelta(minutes=61)
        self.env["vbot.account"]._cron_sync()
        self.assertNotEqual(self.account.last_sync_log_id, first, "due")
        self.account.webhook_active = False
        second = self.account.last_sync_log_id
        self.env["vbot.account"]._cron_sync()
        self.assertNotEqual(self.account.last_sync_log_id, second, "without webhooks: every run")

    def test_old_webhook_data_is_cleaned_up(self):
        self.post(webhook_sample("MANUAL_CALL_RECORDING"))  # waits for a call that never comes
        self.post({"transId": "ring-1", "caller": "0364307520", "calleeMemberNo": "999"})
        Pending, Log = self.env["vbot.call.pending"], self.env["vbot.webhook.log"]
        self.assertEqual(len(Pending.search([])), 2)
        self.assertEqual(len(Log.search([])), 2)
        Pending._gc_pending()
        Log._gc_old_webhook_logs()
        self.assertEqual(len(Pending.search([])), 2, "recent: kept")
        self.env.cr.execute(
            "UPDATE vbot_call_pending SET ring_date = ring_date - interval '2 days', "
            "create_date = create_date - interval '2 days'"
        )
        self.env.invalidate_all()
        Pending._gc_pending()
        self.assertEqual(Pending.search([]).mapped("external_id"), [GROUP_ID], "ring forgotten")
        self.env.cr.execute(
            "UPDATE vbot_call_pending SET create_date = create_date - interval '8 days'"
        )
        self.env.cr.execute("UPDATE vbot_webhook_log SET date = date - interval '31 days'")
        self.env.invalidate_all()
        Pending._gc_pending()
        Log._gc_old_webhook_logs()
        self.assertFalse(Pending.search([]))
        self.assertFalse(Log.search([]))
