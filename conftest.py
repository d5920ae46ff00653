"""Repository-wide pytest settings.

With ``VBOT_FAIL_ON_SKIP=1`` (set by ``make test``) a skipped test is reported as a
failure: a test that did not run must never count as passing (e.g. the browser tour
when Chromium or websocket-client is missing).
"""

import os
import sys
import unittest.case

import pytest

# Python 3.10's unittest, before pytest-odoo patches it (see pytest_configure).
_TEST_PART_EXECUTOR = unittest.case._Outcome.testPartExecutor


def _import_odoo_test_framework_in_test_mode():
    """Import Odoo's test framework with Odoo's test mode on, as Odoo itself does.

    pytest-odoo imports ``odoo.tests`` before it switches the test mode on, so Odoo logs
    "ERROR Importing test framework" with a stack trace at the start of every run. Importing it
    here first, in test mode, removes that false alarm at its cause; pytest-odoo then parses
    Odoo's configuration as usual.
    """
    if not any(arg.startswith("--odoo-database") for arg in sys.argv):
        return
    try:
        from odoo.tools import config
    except ImportError:
        return
    config["test_enable"] = True
    import odoo.tests  # noqa: F401


_import_odoo_test_framework_in_test_mode()


def pytest_configure(config):
    """pytest-odoo (2.3) adapts unittest's ``testPartExecutor`` to Odoo 18 for Python 3.11+ only;
    on Python 3.10, whose executor takes ``isTest`` where 3.11 takes ``subTest``, every Odoo test
    fails with a TypeError. Give 3.10 the same adapter with its own argument name."""
    if sys.version_info >= (3, 11):
        return

    def testPartExecutor(self, test_case, subTest=False, isTest=False):
        return _TEST_PART_EXECUTOR(self, test_case, isTest=isTest or subTest)

    unittest.case._Outcome.testPartExecutor = testPartExecutor


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("VBOT_FAIL_ON_SKIP") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"
