"""VBot agents: synced from the simulator's members API, mapped to users, on their calls."""

from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..services.client import VBotClient, VBotResponseError
from ..services.names import fold
from .common import VbotCase


@tagged("post_install", "-at_install")
class TestMembers(VbotCase):
    sim_config = {"calls": 300, "seed": 11, "days": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Member = cls.env["vbot.member"]
        cls.account._run_sync()
        cls.sim_members = {m["member_no"]: m for m in cls.sim.state.members}

    def members(self):
        return self.Member.with_context(active_test=False).search(
            [("account_id", "=", self.account.id)]
        )

    def test_member_sync_maps_the_agents_and_the_agent_column_fills_in(self):
        self.assertFalse(self.calls().user_id)
        self.account.action_sync_members()
        members = self.members()
        self.assertEqual(
            {m.member_no: (m.name, m.ext_number) for m in members},
            {
                no: (m["member_name"], str(m["member_ext_number"]))
                for no, m in self.sim_members.items()
            },
        )
        self.assertTrue(all(members.mapped("in_vbot")))
        # The team's users, as an admin typed them: without accents, in Western order,
        # or exactly. Look-alike names are the simulator's trap for a careless match.
        users = {}
        for index, member in enumerate(members.sorted("member_no")):
            words = member.name.split()
            name = [fold(member.name).title(), " ".join(words[-1:] + words[:-1]), member.name][
                index % 3
            ]
            users[member.member_no] = new_test_user(
                self.env,
                f"agent_{member.member_no}",
                groups="base.group_user,vbot_call_history.group_vbot_user",
                name=name,
            )
        suggested = {m.member_no: m.suggested_user_id for m in members}
        sure = {no for no, user in suggested.items() if user}
        self.assertGreaterEqual(len(sure), len(members) - 2)
        for no in sure:
            self.assertEqual(suggested[no], users[no], no)
        # One click maps the team.
        members.action_apply_suggestions()
        for member in members:
            self.assertEqual(
                member.user_id,
                users[member.member_no] if member.member_no in sure else self.env["res.users"],
            )
        agent_calls = self.calls().filtered("agent_member_no")
        self.assertTrue(agent_calls)
        for call in agent_calls:
            expected = users[call.agent_member_no] if call.agent_member_no in sure else False
            self.assertEqual(call.user_id.id, expected and expected.id, call.agent_member_no)
        self.assertGreater(len(agent_calls.filtered("user_id")), len(agent_calls) * 0.6)
        # Re-syncing changes no mapping.
        mapping = {m.member_no: m.user_id for m in members}
        self.account.action_sync_members()
        self.assertEqual(self.members(), members)
        self.assertEqual({m.member_no: m.user_id for m in self.members()}, mapping)

    def test_calls_follow_a_changed_mapping(self):
        self.account.action_sync_members()
        member_no = self.calls().filtered("agent_member_no")[0].agent_member_no
        member = self.members().filtered(lambda m: m.member_no == member_no)
        calls = self.Call.search([("agent_member_no", "=", member_no)])
        first = new_test_user(self.env, "agent_first", name="Người thứ nhất")
        second = new_test_user(self.env, "agent_second", name="Người thứ hai")
        member.user_id = first
        self.assertEqual(calls.user_id, first)
        self.assertEqual(first.vbot_member_no, member_no)  # what Preferences show
        member.user_id = second
        self.assertEqual(calls.user_id, second)
        member.user_id = False
        self.assertFalse(calls.user_id)
        # Calls synced later get the mapped user too.
        member.user_id = first
        calls.write({"user_id": False})
        self.account.sync_watermark = False
        calls[0].payload = "{}"  # VBot "changed" it: the next sync updates it
        self.account._run_sync()
        self.assertEqual(calls[0].user_id, first)

    def test_extension_typed_on_the_user_is_the_same_mapping(self):
        member_no = self.calls().filtered("agent_member_no")[0].agent_member_no
        user = new_test_user(self.env, "agent_pref", name="Đặng Thu Trang")
        user.vbot_member_no = member_no
        member = self.members().filtered(lambda m: m.member_no == member_no)
        self.assertEqual(member.user_id, user)
        self.assertEqual(self.Call.search([("agent_member_no", "=", member_no)]).user_id, user)
        self.assertEqual(self.env["res.users"].search([("vbot_member_no", "=", member_no)]), user)
        user.vbot_member_no = False
        self.assertFalse(member.user_id)

    def test_without_a_members_api_the_extensions_of_the_calls_are_listed(self):
        # Older accounts may not serve /api/member: the simulator always does, so this
        # one answer is mocked.
        refused = VBotResponseError("VBot /v2.0/api/member/getAll: Not Found (error 404)", 404)
        with patch.object(VBotClient, "iter_members", side_effect=refused):
            action = self.account.action_sync_members()
        self.assertEqual(action["params"]["type"], "warning")
        extensions = set(self.calls().mapped("agent_member_no")) - {""}
        self.assertEqual(set(self.members().mapped("member_no")), extensions)
        self.assertFalse(any(self.members().mapped("in_vbot")))

    def test_only_managers_sync_or_map(self):
        seller = new_test_user(
            self.env, "seller_x", groups="base.group_user,vbot_call_history.group_vbot_user"
        )
        with self.assertRaises(AccessError):
            self.account.with_user(seller).action_sync_members()
        self.account.action_sync_members()
        with self.assertRaises(AccessError):
            self.members().with_user(seller).action_apply_suggestions()
        with self.assertRaises(AccessError):
            self.members()[:1].with_user(seller).write({"user_id": seller.id})

    def test_scheduled_member_sync(self):
        self.env["vbot.account"]._cron_sync_members()
        self.assertEqual(set(self.members().mapped("member_no")), set(self.sim_members))
