"""HTML snapshot of the demo report: any change to what a reviewer reads shows up as a diff.

Update deliberately with ``UPDATE_SNAPSHOTS=1 make test`` and review the diff of
``tests/snapshots/report_demo.html`` before committing it.
"""

import pytest
from runner import ROOT

from snapshot import assert_matches_snapshot

pytestmark = pytest.mark.workflow


def test_demo_report_matches_snapshot(demo_run):
    results, _ = demo_run
    html = (results / "report.html").read_text(encoding="utf-8")
    assert_matches_snapshot(html, ROOT / "tests" / "snapshots" / "report_demo.html")
