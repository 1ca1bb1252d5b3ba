"""``make lighthouse``: Lighthouse scores of a report served on localhost (opt-in, not a test).

Serves the report's folder with Python's HTTP server on a free localhost port, runs the npm
``lighthouse`` package (installed by the Makefile under ``.tools/lighthouse``) with Debian's
Chromium (headless, no sandbox) and the desktop preset, and prints the performance,
accessibility and best-practices scores with the metrics behind them. Exits 1 when a score is
below its target (issue 12): accessibility 1.0, best practices 1.0, performance 0.9.

Usage: ``python bench/lighthouse.py results/report.html [--json out.json]``.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / ".tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
TARGETS = {"performance": 0.9, "accessibility": 1.0, "best-practices": 1.0}
METRICS = [
    "first-contentful-paint",
    "largest-contentful-paint",
    "speed-index",
    "total-blocking-time",
    "cumulative-layout-shift",
    "dom-size",
    "total-byte-weight",
]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed when the browser accepts it (as any web server would)."""

    def send_head(self):  # noqa: D102
        path = Path(self.translate_path(self.path))
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not self.server.compress or not path.is_file() or not accepts:
            return super().send_head()
        body = gzip.compress(path.read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args) -> None:  # noqa: D102
        pass


def serve(folder: Path, compress: bool = True) -> tuple[socketserver.TCPServer, int]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a background thread."""
    handler = functools.partial(Handler, directory=str(folder))
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    server.compress = compress
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def run(report: Path, out: Path, compress: bool = True) -> dict:
    """Lighthouse's JSON result for ``report`` (desktop preset, headless Chromium)."""
    server, port = serve(report.parent, compress)
    try:
        env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
        cmd = [
            str(LIGHTHOUSE),
            f"http://127.0.0.1:{port}/{report.name}",
            "--preset=desktop",
            "--only-categories=performance,accessibility,best-practices",
            "--chrome-flags=--headless --no-sandbox --disable-gpu",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
        ]
        subprocess.run(cmd, env=env, check=True)
    finally:
        server.shutdown()
    return json.loads(out.read_text())


def main(argv=None) -> int:
    """Run Lighthouse on the report, print the scores; 1 when one is below its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report (results/report.html)")
    parser.add_argument("--json", type=Path, help="keep Lighthouse's full JSON result here")
    parser.add_argument("--no-gzip", action="store_true", help="serve the file uncompressed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.json or Path(tmp) / "lighthouse.json"
        result = run(args.report.resolve(), out, compress=not args.no_gzip)
    failed = False
    for name, target in TARGETS.items():
        score = result["categories"][name]["score"]
        failed |= score < target
        print(f"{name:15} {score:.2f}  (target {target:.2f})")
    for audit in METRICS:
        a = result["audits"][audit]
        print(f"  {a['title']}: {a.get('displayValue', a.get('numericValue'))}")
    for name in ("accessibility", "best-practices"):
        for ref in result["categories"][name]["auditRefs"]:
            a = result["audits"][ref["id"]]
            if ref["weight"] and a["score"] is not None and a["score"] < 1:
                print(f"  {name} fails: {a['title']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
