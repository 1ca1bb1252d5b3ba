"""HTML snapshot of the demo report: any change to what a reviewer reads shows up as a diff.

Update deliberately with ``UPDATE_SNAPSHOTS=1 make test`` and review the diff of
``tests/snapshots/report_demo.html`` before committing it.
"""

from __future__ import annotations

import difflib
import os
import re

import pytest
from runner import ROOT

pytestmark = pytest.mark.workflow
SNAPSHOT = ROOT / "tests" / "snapshots" / "report_demo.html"


def normalise(html: str) -> str:
    """Drop what legitimately differs between runs: images, times, commits, hashes, versions."""
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,<figure>", html)
    html = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<run time>", html)
    html = re.sub(r"\b[0-9a-f]{40}(-dirty)?\b|unknown \(not a git checkout\)", "<commit>", html)
    html = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", html)
    html = re.sub(r"(<tr><td>[\w.-]+</td><td>)[^<]+(</td></tr>)", r"\1<version>\2", html)
    html = re.sub(r"(lifelines|pandas) [\d.]+", r"\1 <version>", html)
    return html.replace(str(ROOT), "<root>")


def test_demo_report_matches_snapshot(demo_run):
    results, _ = demo_run
    html = normalise((results / "report.html").read_text(encoding="utf-8"))
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(html, encoding="utf-8")
        if os.environ.get("CI"):
            pytest.fail(
                "no snapshot in CI: run UPDATE_SNAPSHOTS=1 make test and commit tests/snapshots/"
            )
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if html != expected:
        diff = "\n".join(list(difflib.unified_diff(expected.splitlines(), html.splitlines(), "snapshot", "this run",
                                                   lineterm=""))[:80])  # fmt: skip
        pytest.fail(f"the report differs from tests/snapshots/report_demo.html:\n{diff}")
