"""The HTML report in a real headless browser: the charts are drawn, nothing is fetched.

Needs Chromium (Debian's ``chromium`` package, which ``.ci/run`` installs); skipped
elsewhere unless CI is set, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from promptlib.evals.report import render
from promptlib.evals.report._charts import COLOURS
from tests.evals.test_reports import big_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM and os.environ.get("CI") == "true":
    pytest.fail("CI must install Chromium (apt-get install chromium) for the HTML report test")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="no chromium: apt-get install chromium")


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8
    assert colour in (2, 6)
    assert interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line[j] for j in range(stride) if j % bpp < 3))
        prev = line
    return width, height, rows


class Proxy:
    """A listening socket given to Chromium as its proxy: every fetch would connect here."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.settimeout(5)
            try:
                first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError:
                first = "(nothing sent)"
            self.requests.append(first)
            conn.close()

    def close(self) -> None:
        self.server.close()


def screenshot(page: Path, out: Path, proxy: Proxy) -> tuple[int, int, list[bytes]]:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            # the browser's own calls home, which would otherwise reach the proxy too
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,"
            "MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
            "--disable-extensions",
            "--disable-component-extensions-with-background-pages",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--no-default-browser-check",
            "--no-pings",
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={out.parent / 'profile'}",
            "--window-size=1100,2200",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return decode_png(out.read_bytes())


# What Chromium itself calls at start whatever the page (sign-in, component updates, the
# clock); any other request came from the page.
BROWSER_OWN = re.compile(
    r"^(CONNECT (accounts\.google\.com|update\.googleapis\.com):443 "
    r"|(GET|POST) http://(update\.googleapis\.com/service/|clients2\.google\.com/time/))"
)


def page_requests(proxy: Proxy) -> list[str]:
    return [r for r in proxy.requests if not BROWSER_OWN.match(r)]


def rgb(hex_colour: str) -> bytes:
    return bytes.fromhex(hex_colour[1:])


def test_the_charts_render_in_a_browser_and_nothing_is_fetched(tmp_path):
    page = tmp_path / "report.html"
    report = big_report(400, rates=(0.6, 0.8, 0.45))
    assert {c.outcome for c in report.comparisons} == {"better", "worse"}
    page.write_text(render(report, "html"), encoding="utf-8")
    proxy = Proxy()
    try:
        _, _, rows = screenshot(page, tmp_path / "shot.png", proxy)
    finally:
        proxy.close()
    assert page_requests(proxy) == []
    marks = [rgb(COLOURS[k]) for k in ("baseline", "better", "worse")]
    counts = {m: sum(r[i : i + 3] == m for r in rows for i in range(0, len(r), 3)) for m in marks}
    # each chart draws every variant's mark (a filled circle of 100+ pixels) in its colour
    assert all(n >= 200 for n in counts.values()), counts
    # the three charts stand apart on the page: three bands of rows holding marks
    marked = [any(r[i : i + 3] in marks for i in range(0, len(r), 3)) for r in rows]
    bands = sum(1 for y in range(1, len(marked)) if marked[y] and not marked[y - 1])
    assert bands >= 3


def test_the_fetch_detector_sees_a_page_that_does_fetch(tmp_path):
    page = tmp_path / "fetching.html"
    page.write_text('<img src="http://example.invalid/x.png"><p>hi</p>', encoding="utf-8")
    proxy = Proxy()
    try:
        screenshot(page, tmp_path / "shot.png", proxy)
    finally:
        proxy.close()
    assert page_requests(proxy) == ["GET http://example.invalid/x.png HTTP/1.1"]
