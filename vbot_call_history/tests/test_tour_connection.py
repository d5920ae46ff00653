from odoo.tests import HttpCase, tagged

from .common import account_values, allow_hosts, start_simulator


@tagged("post_install", "-at_install")
class TestConnectionTour(HttpCase):
    def test_test_connection_tests_the_typed_password_without_saving_it(self):
        sim = start_simulator(calls=20, seed=6, days=2)
        self.addCleanup(sim.stop)
        allow_hosts(self.env, sim)
        self.env["vbot.account"].with_context(active_test=False).search([]).unlink()
        account = self.env["vbot.account"].create(account_values(sim, password="stale"))
        self.start_tour(
            f"/odoo/action-vbot_call_history.vbot_account_action/{account.id}",
            "vbot_test_connection_tour",
            login="admin",
        )
        account.invalidate_recordset()
        self.assertEqual(account.password, "stale")  # tested, never saved
        logins = [q for _m, path, q in sim.state.requests if path.endswith("/token")]
        self.assertEqual(len(logins), 2)  # one refused, one accepted
