"""The report in a real browser (headless Chromium): offline, safe, complete."""

from __future__ import annotations

import re
import shutil
from html import unescape
from urllib.parse import unquote

import pytest
from playwright.sync_api import sync_playwright
from runner import demo_config, run_workflow

from rwe.report import SECTIONS
from rwe.simulate import simulate_site, write_site

pytestmark = [pytest.mark.browser, pytest.mark.workflow]
XSS = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_in_chromium(path):
    """Load a file in headless Chromium; return what a reviewer's browser saw."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium not found: the browser test needs it (make test installs it)"
    seen = {"requests": [], "console": [], "errors": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        # Figures load lazily: load and decode every one, counting those that cannot be.
        seen["broken"] = page.evaluate(
            "async () => (await Promise.allSettled([...document.images].map(i => "
            "{ i.loading = 'eager'; return i.decode(); }))).filter(r => r.status === 'rejected').length"
        )
        seen["sections"] = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        seen["images"] = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.src.slice(0, 22), e.naturalWidth])"
        )
        seen["text"] = page.inner_text("body")
        seen["html"] = page.content()
        browser.close()
    return seen


def test_demo_report_opens_offline_with_every_section_and_figure(demo_run):
    results, _ = demo_run
    seen = open_in_chromium(results / "report.html")
    assert seen["requests"] == [(results / "report.html").as_uri()], (
        "the report asked for something else"
    )
    assert seen["console"] == []
    assert seen["errors"] == []
    assert seen["broken"] == 0
    assert seen["sections"] == [s.id for s in SECTIONS]
    figures = [
        line
        for index in ("figures.csv", "figures_comparative.csv")
        for line in (results / index).read_text().strip().splitlines()[1:]
    ]
    assert len(seen["images"]) == len(figures) > 20
    assert all(
        src.startswith(("data:image/png;base64", "data:image/svg+xml")) and width > 0
        for src, width in seen["images"]
    )
    # Tables and figures are numbered in reading order (collapsed tables show theirs too).
    tables = [int(n) for n in re.findall(r"\bTable (\d+)\. ", seen["text"])]
    assert tables == list(range(1, len(tables) + 1))
    assert len(tables) > 20
    numbers = [int(n) for n in re.findall(r"\bFigure (\d+)\. ", seen["text"])]
    assert numbers == list(range(1, len(figures) + 1))
    # A lower limit is never "not reached": R's NA is NE, an empty group is —.
    assert "NR–NR" not in seen["text"]
    assert "(NR–" not in seen["text"]
    assert "Content-Security-Policy" in seen["html"]
    for heading in (
        "Kaplan–Meier medians",
        "Cox proportional-hazards models",
        "Patients with each treatment-emergent adverse event",
    ):
        assert heading in seen["text"]
    assert "Not available" not in seen["text"]


def test_input_strings_are_shown_as_text_not_markup(tmp_path):
    """Markup from the input is text; this run's settings also change every label (issue 12)."""
    tables = simulate_site(50, seed=41, site="xss")
    tables["patients"].loc[:4, "regimen"] = XSS
    tables["adverse_events"].loc[0, "term"] = "<script>alert('ae')</script>"
    write_site(tables, tmp_path / "extract")
    config = demo_config({"xss": str(tmp_path / "extract")})
    config["regimen_aliases"] = {XSS: XSS}
    config.update(gfr_cutoff=60, conf_level=0.9, conventions="sas")
    result = run_workflow(tmp_path, config)
    assert result.returncode == 0, result.stderr[-5000:]
    seen = open_in_chromium(tmp_path / "results" / "report.html")
    assert seen["dialogs"] == []
    assert seen["errors"] == []
    assert seen["broken"] == 0  # figures whose titles hold markup still decode
    assert XSS in seen["text"]  # shown to the reader, literally
    html = (tmp_path / "results" / "report.html").read_text()
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r"<script", html, re.IGNORECASE)
    # Every label follows gfr_cutoff, conf_level and conventions: the page, its SVG figures (text
    # kept as text) and every figure file (PNGs are drawn from the same plots as the SVGs).
    svgs = [p.read_text() for p in (tmp_path / "results" / "figures").rglob("*.svg")]
    paper = "the paper's flag is GFR ≤ 70"  # the published comparison says what differs
    assert paper in (tmp_path / "results" / "tables" / "published_comparison.csv").read_text()
    # Only the section that compares both conventions names R's (Efron ties) beside SAS's.
    both = re.compile(r"R: log CI, Efron ties|R and SAS conventions")
    for where in (seen["text"], unescape(unquote(html)), *svgs):
        assert not re.search(r"≤ 70|95%|Efron", both.sub("", where.replace(paper, "")))
    assert "GFR ≤ 60" in seen["text"]
    assert "90% CI" in seen["text"]
    assert "Breslow ties" in seen["text"]
    assert any("GFR ≤ 60" in svg for svg in svgs)  # the KM legend and forest plot


def test_the_browser_check_catches_requests_console_errors_and_dialogs(tmp_path):
    """Negative control: a page that misbehaves is caught, so a clean report means something."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); alert("hi");'
        "</script></body></html>"
    )
    seen = open_in_chromium(page)
    assert any(url.startswith("http://127.0.0.1:9/") for url in seen["requests"])
    assert any("boom" in line for line in seen["console"])
    assert seen["dialogs"] == ["hi"]
    assert seen["broken"] == 1
