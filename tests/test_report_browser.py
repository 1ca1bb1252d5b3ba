"""The report in a real browser: headless Chromium driven over the DevTools protocol.

No extra package: a minimal WebSocket client (RFC 6455, text frames only) from the standard
library talks to Chromium's ``--remote-debugging-port``. The test records every network request,
console message, uncaught exception and JavaScript dialog while the page loads, then reads the
rendered DOM. Chromium is required: if it is missing the test fails (CI installs it).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rwe.report import SECTIONS
from test_report import XSS, fixture_report, fixture_tables

pytestmark = pytest.mark.browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-port=0", "--remote-allow-origins=*"]  # fmt: skip


class DevTools:
    """A DevTools-protocol session on one page, over a hand-rolled WebSocket."""

    def __init__(self, ws_url: str):
        host, port, path = re.match(r"ws://([^:/]+):(\d+)(/.*)", ws_url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())  # fmt: skip
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0
        self.events: list[dict] = []

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def _recv_message(self) -> dict:
        payload = b""
        while True:
            first, second = self._recv_exact(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._recv_exact(2), "big")
            elif length == 127:
                length = int.from_bytes(self._recv_exact(8), "big")
            payload += self._recv_exact(length)
            if first & 0x80:  # FIN: the message is complete
                return json.loads(payload)

    def send(self, method: str, **params) -> dict:
        """Call a DevTools method and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + len(data).to_bytes(8, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            message = self._recv_message()
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        """Read events until ``method`` has been seen; dismiss any JavaScript dialog (it blocks loading)."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {timeout} s"
            event = self._recv_message()
            self.events.append(event)
            if event.get("method") == "Page.javascriptDialogOpening":
                self.send("Page.handleJavaScriptDialog", accept=False)


def open_in_chromium(path: Path, tmp_path: Path) -> dict:
    """Load a file in headless Chromium; return what the reader's browser did and showed."""
    chromium = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    assert chromium, "chromium not found: the browser test needs it (apt-get install chromium)"
    profile = tmp_path / "chromium-profile"
    log = tmp_path / "chromium.log"  # a file, not a pipe: a full pipe would stall Chromium
    with log.open("w") as stderr:
        proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                stderr=stderr, stdout=subprocess.DEVNULL)  # fmt: skip
    tools = None
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            found = re.search(
                r"DevTools listening on ws://[^:]+:(\d+)/", log.read_text(errors="replace")
            )
            port = found and found.group(1)
            time.sleep(0.1)
        assert port, "Chromium did not start its DevTools endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:  # noqa: S310
            page = next(t for t in json.load(response) if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Network", "Runtime", "Log"):
            tools.send(f"{domain}.enable")
        tools.send("Page.navigate", url=path.as_uri())
        tools.wait_for("Page.loadEventFired")
        time.sleep(0.5)
        tools.send(
            "Runtime.evaluate", expression="1"
        )  # collects the events of the last half second

        def evaluate(expression):
            return tools.send("Runtime.evaluate", expression=expression, returnByValue=True)[
                "result"
            ]["value"]

        seen = {
            "sections": evaluate("[...document.querySelectorAll('section')].map(e => e.id)"),
            "images": evaluate(
                "[...document.images].map(i => [i.src.slice(0, 22), i.naturalWidth, i.alt])"
            ),
            "text": evaluate("document.body.innerText"),
            "elements": evaluate(
                "[...document.querySelectorAll('*')].map(e => e.tagName.toLowerCase())"
            ),
        }
    finally:
        if tools is not None:
            tools.sock.close()
        proc.kill()
        proc.wait(timeout=30)
    events = tools.events
    seen["requests"] = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    seen["console"] = [f"{e['params']['type']}: {e['params']['args']}" for e in events
                       if e.get("method") == "Runtime.consoleAPICalled"]  # fmt: skip
    seen["log"] = [f"{e['params']['entry']['level']}: {e['params']['entry']['text']}" for e in events
                   if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning")]  # fmt: skip
    seen["exceptions"] = [
        e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"
    ]
    seen["dialogs"] = [
        e["params"] for e in events if e.get("method") == "Page.javascriptDialogOpening"
    ]
    return seen


def test_the_harness_sees_requests_console_errors_and_dialogs(tmp_path):
    """A page that misbehaves is caught, so a clean result below means something."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("boom"); alert(1)</script></body></html>')  # fmt: skip
    seen = open_in_chromium(bad, tmp_path)
    assert "http://127.0.0.1:9/x.png" in seen["requests"]
    assert any("boom" in c for c in seen["console"])
    assert seen["dialogs"]


def test_report_opens_offline_with_every_section_and_figure_and_no_errors(tmp_path):
    path = fixture_report(tmp_path, tables=fixture_tables(regimen=XSS))
    seen = open_in_chromium(path, tmp_path)
    others = [u for u in seen["requests"] if u != path.as_uri() and not u.startswith("data:")]
    assert others == [], "the report asked for something else"
    assert seen["console"] == []
    assert seen["log"] == []
    assert seen["exceptions"] == []
    assert seen["dialogs"] == []
    assert seen["sections"] == [sid for sid, _ in SECTIONS]
    assert len(seen["images"]) == 6
    for src, width, alt in seen["images"]:
        assert src == "data:image/png;base64,"
        assert width > 0, alt
    assert "script" not in seen["elements"]
    assert seen["elements"].count("img") == 6  # the regimen did not become an element


def test_a_regimen_named_like_markup_is_shown_as_text(tmp_path):
    path = fixture_report(tmp_path, tables=fixture_tables(regimen=XSS))
    seen = open_in_chromium(path, tmp_path)
    assert f"regimen: {XSS}" in seen["text"]
    assert XSS in seen["text"]
    assert seen["dialogs"] == []
