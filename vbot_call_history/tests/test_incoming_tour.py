"""The incoming-call card in Chromium: the right user, a known and an unknown number."""

import json
from unittest.mock import patch

from odoo import sql_db
from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler
from odoo.tests import HttpCase, new_test_user, tagged

from ..services.webhook import parse_event
from .common import account_values, allow_hosts, start_simulator, webhook_sample

# The tour posts to this account's webhook (see static/tests/tours/vbot_incoming_call_tour.js).
TOUR_UUID = "5f2b3c1e-0c8a-4f4e-9d55-2c1a7a6b9e01"
TOUR_SECRET = "tour-webhook-secret"


def _commit_and_wake_websockets(commit):
    """TestCursor.commit, then what PostgreSQL's NOTIFY does outside tests.

    Tests never really commit, so the bus never hears ``NOTIFY imbus``: the websockets
    subscribed to the channels a request notified are woken here instead.
    """

    def wrapper(cursor):
        channels = list(cursor.postcommit.data.get("bus.bus.channels", ()))
        commit(cursor)
        for channel in channels:
            for websocket in list(dispatch._channels_to_ws.get(channel, ())):
                websocket.trigger_notification_dispatching()

    return wrapper


@tagged("post_install", "-at_install")
class TestIncomingCallTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Websockets are off in tests by default; the card comes through one.
        cls.startClassPatcher(
            patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True)
        )
        cls.startClassPatcher(
            patch.object(
                sql_db.TestCursor, "commit", _commit_and_wake_websockets(sql_db.TestCursor.commit)
            )
        )
        cls.sim = start_simulator(calls=10, seed=4, days=1)
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        cls.account = cls.env["vbot.account"].create(
            account_values(cls.sim, webhook_active=True, webhook_uuid=TOUR_UUID)
        )
        cls.account._webhook_set_secret(TOUR_SECRET)
        groups = "base.group_user,base.group_partner_manager,vbot_call_history.group_vbot_user"
        cls.agent = new_test_user(cls.env, "agent104", groups=groups, vbot_member_no="104")
        cls.colleague = new_test_user(cls.env, "agent105", groups=groups, vbot_member_no="105")
        salesperson = new_test_user(
            cls.env, "sales_ha", groups="base.group_user", name="Trần Thu Hà"
        )
        company = cls.env["res.partner"].create({"name": "Công ty An Phát", "is_company": True})
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Anh Đạt",
                "mobile": "+84 364 307 520",
                "parent_id": company.id,
                "user_id": salesperson.id,
            }
        )
        cls.partner.activity_schedule(
            "mail.mail_activity_data_call", summary="Gọi lại báo giá", user_id=cls.agent.id
        )
        # An earlier call of this customer (answered), as a webhook delivered it.
        event = parse_event(json.loads(webhook_sample("MANUAL_CALL_COMPLETE")))
        cls.account._webhook_receive(event)

    def test_the_agent_sees_the_card_of_a_known_then_an_unknown_caller(self):
        self.env.flush_all()
        self.start_tour("/odoo", "vbot_incoming_call_tour", login="agent104", timeout=120)
        created = self.env["res.partner"].search([("name", "=", "Chị Mai Phương")])
        self.assertEqual(created._vbot_keys(), {"+84987654321"}, "the contact has the number")

    def test_a_colleague_sees_only_what_rings_for_everyone(self):
        self.env.flush_all()
        self.start_tour("/odoo", "vbot_incoming_call_colleague_tour", login="agent105", timeout=120)
