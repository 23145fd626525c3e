"""A pytest plugin ./test.sh loads (-p tests.browser_notice): when the browser tests were skipped
(no Chromium, no Playwright, no GraphiQL assets), say so in red next to pytest's short summary."""

from __future__ import annotations

from typing import Any

import pytest

BROWSER_TESTS = "test_browser.py"


def _is_browser_test(report: Any) -> bool:
    """By node id, or (a module-level skip reported by an xdist worker) by the skip's location."""
    where = report.longrepr[0] if isinstance(report.longrepr, tuple) else ""
    return BROWSER_TESTS in report.nodeid or BROWSER_TESTS in str(where)


@pytest.hookimpl(trylast=True)  # after the durations, next to the short summary
def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _is_browser_test(r)]
    if not skipped:
        return
    reasons = sorted({str(r.longrepr[2]).removeprefix("Skipped: ") if isinstance(r.longrepr, tuple) else "skipped"
                      for r in skipped})
    terminalreporter.write_sep("!", f"BROWSER TESTS SKIPPED ({len(skipped)})", red=True, bold=True)
    for reason in reasons:
        terminalreporter.write_line(f"  {reason}", red=True, bold=True)
    terminalreporter.write_line("  README, Tests: what the browser tests need", red=True)
