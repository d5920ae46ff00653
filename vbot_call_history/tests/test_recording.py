import json

from odoo.tests import HttpCase, new_test_user, tagged

from .common import account_values, allow_hosts, start_simulator


@tagged("post_install", "-at_install")
class TestRecordingProxy(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = start_simulator(
            calls=60, seed=4, days=5, api_key="secret-key-xyz", password="secret-pass-xyz"
        )
        cls.addClassCleanup(cls.sim.stop)
        allow_hosts(cls.env, cls.sim)
        cls.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        cls.account = cls.env["vbot.account"].create(
            account_values(cls.sim, password="secret-pass-xyz", api_key="secret-key-xyz")
        )
        cls.account._run_sync()
        cls.call = cls.env["vbot.call"].search([("has_recording", "=", True)], limit=1)
        cls.silent = cls.env["vbot.call"].search([("has_recording", "=", False)], limit=1)
        cls.seller = new_test_user(
            cls.env, "vbot_seller", groups="base.group_user,vbot_call_history.group_vbot_user"
        )
        cls.outsider = new_test_user(cls.env, "vbot_outsider", groups="base.group_user")
        other = cls.env["res.company"].create({"name": "Công ty khác"})
        cls.other_seller = new_test_user(
            cls.env,
            "vbot_other_seller",
            groups="base.group_user,vbot_call_history.group_vbot_user",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )

    def assert_no_secret(self, text):
        for secret in (
            "secret-key-xyz",
            "secret-pass-xyz",
            "historycall/record",
            "127.0.0.1:" + self.sim.url.rsplit(":", 1)[1],
        ):
            self.assertNotIn(secret, text)

    def test_user_with_access_hears_the_recording(self):
        self.assertTrue(self.call)
        self.authenticate("vbot_seller", "vbot_seller")
        response = self.url_open(f"/vbot_call_history/recording/{self.call.id}")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("audio/"))
        self.assertEqual(response.content[:4], b"RIFF")
        self.assertEqual(response.content[8:12], b"WAVE")
        self.assert_no_secret(json.dumps(dict(response.headers)))

    def test_player_can_seek(self):
        self.authenticate("vbot_seller", "vbot_seller")
        url = f"/vbot_call_history/recording/{self.call.id}"
        whole = self.url_open(url).content
        part = self.url_open(url, headers={"Range": "bytes=100-"})
        self.assertEqual(part.status_code, 206)
        self.assertEqual(part.content, whole[100:])
        self.assertEqual(part.headers["Content-Range"], f"bytes 100-{len(whole) - 1}/{len(whole)}")
        self.assertEqual(part.headers["Accept-Ranges"], "bytes")

    def test_refused_without_access_or_recording(self):
        self.authenticate("vbot_outsider", "vbot_outsider")
        self.assertEqual(
            self.url_open(f"/vbot_call_history/recording/{self.call.id}").status_code, 404
        )
        self.authenticate("vbot_other_seller", "vbot_other_seller")
        self.assertEqual(
            self.url_open(f"/vbot_call_history/recording/{self.call.id}").status_code, 404
        )
        self.authenticate("vbot_seller", "vbot_seller")
        self.assertEqual(
            self.url_open(f"/vbot_call_history/recording/{self.silent.id}").status_code, 404
        )
        self.assertEqual(self.url_open("/vbot_call_history/recording/999999999").status_code, 404)

    def test_recordings_come_only_from_the_account_host(self):
        self.call.recording_urls = [
            "http://198.51.100.7/api/crm/historycall/record/" + self.call.external_id
        ]
        self.authenticate("vbot_seller", "vbot_seller")
        self.assertEqual(
            self.url_open(f"/vbot_call_history/recording/{self.call.id}").status_code, 404
        )
        served = [path for _m, path, _q in self.sim.state.requests if "/record/" in path]
        self.call.recording_urls = [
            self.sim.url + "/v2.0/api/crm/historycall/record/" + self.call.external_id
        ]
        self.assertEqual(
            self.url_open(f"/vbot_call_history/recording/{self.call.id}").status_code, 200
        )
        self.assertEqual(
            len([path for _m, path, _q in self.sim.state.requests if "/record/" in path]),
            len(served) + 1,
        )

    def test_anonymous_is_sent_to_login(self):
        self.authenticate(None, None)
        response = self.url_open(
            f"/vbot_call_history/recording/{self.call.id}", allow_redirects=False
        )
        self.assertIn(response.status_code, (303, 302))
        self.assertIn("/web/login", response.headers["Location"])

    def test_no_vbot_url_or_key_reaches_the_browser(self):
        self.authenticate("admin", "admin")
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "model": "vbot.call",
                "method": "web_search_read",
                "args": [[("id", "in", (self.call | self.silent).ids)]],
                "kwargs": {
                    "specification": {
                        name: {}
                        for name in self.env["vbot.call"]._fields
                        if name not in ("recording_urls", "payload")
                    }
                },
            },
        }
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn(str(self.call.id), response.text)
        self.assert_no_secret(response.text)
        # The account form reads empty secret inputs, even for the administrator.
        payload["params"].update(
            model="vbot.account",
            method="web_read",
            args=[self.account.ids],
            kwargs={"specification": {"new_password": {}, "new_api_key": {}, "base_url": {}}},
        )
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        self.assertIn("base_url", response.text)
        self.assertNotIn("secret-pass-xyz", response.text)
        self.assertNotIn("secret-key-xyz", response.text)

    def test_vbot_out_of_reach_is_a_bad_gateway_not_a_missing_recording(self):
        """The player says "try again" (502) rather than "gone" (404) when VBot is down."""
        self.authenticate("vbot_seller", "vbot_seller")
        self.sim.state.set_faults(queue=["429"] * 10, retry_after=0)
        self.addCleanup(self.sim.state.set_faults)
        response = self.url_open(f"/vbot_call_history/recording/{self.call.id}")
        self.assertEqual(response.status_code, 502)
        self.assert_no_secret(response.text)
