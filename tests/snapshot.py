"""HTML snapshots: normalise what legitimately differs between runs, then compare or update.

Update deliberately with ``UPDATE_SNAPSHOTS=1 make test`` and review the diff of
``tests/snapshots/`` before committing it.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def normalise(html: str) -> str:
    """Drop images, run time, commit, hashes, package and R versions and the checkout's path."""
    # A figure is the smaller of its PNG and SVG: which one depends on the renderer's bytes.
    html = re.sub(r"data:image/(png;base64|svg\+xml),[^\"]+", "data:image,<figure>", html)
    html = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<run time>", html)
    html = re.sub(r"\b[0-9a-f]{40}(-dirty)?\b|unknown \(not a git checkout\)", "<commit>", html)
    html = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", html)
    html = re.sub(r"(<tr><td>[\w.-]+</td><td>)\d[^<]*(</td></tr>)", r"\1<version>\2", html)
    html = re.sub(r"\b(pandas|numpy|scipy|Python) \d[\d.]*", r"\1 <version>", html)
    html = re.sub(
        r"R [\d.]+ with survival [\d.?]+ is installed|R was not found", "<R versions>", html
    )
    return html.replace(str(ROOT), "<root>")


def assert_matches_snapshot(html: str, snapshot: Path) -> None:
    """Compare normalised ``html`` with ``snapshot`` (written when UPDATE_SNAPSHOTS=1)."""
    html = normalise(html)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(html, encoding="utf-8")
    if not snapshot.exists():
        pytest.fail(
            f"no snapshot {snapshot.name}: run UPDATE_SNAPSHOTS=1 make test and commit tests/snapshots/"
        )
    expected = snapshot.read_text(encoding="utf-8")
    if html != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), html.splitlines(), "snapshot", "this run", lineterm=""
        )
        pytest.fail(f"the report differs from {snapshot.name}:\n" + "\n".join(list(diff)[:80]))
