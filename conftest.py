"""Repository-wide pytest settings.

With ``VBOT_FAIL_ON_SKIP=1`` (set by ``make test``) a skipped test is reported as a
failure: a test that did not run must never count as passing (e.g. the browser tour
when Chromium or websocket-client is missing).
"""

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("VBOT_FAIL_ON_SKIP") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"
