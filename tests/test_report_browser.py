"""report.html in a real headless browser (Chromium): it renders, shows every key whole with
its QR code and timeline, escapes evidence text, and the page loads nothing from the network.

Chromium's own net log (``--log-net-log``) records every request; the page's requests are
those whose network isolation key is the page's (``file://``); the browser's own background
calls (updates, accounts) are not the page's. A control page with an external image proves
the check sees a request when there is one. The browser runs from this test only: the
scanner never starts a process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac
from scanner.cli import app
from tests.helpers import runner

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER = next((found for name in BROWSERS if (found := shutil.which(name))), None)

pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason=f"no headless browser found on PATH (tried {', '.join(BROWSERS)}); .ci/run installs "
    "Debian's chromium where it can",
)

KEYS = [fake_key("browser-a-old"), fake_key("browser-a-new"), fake_key("browser-b")]
MACS = [fake_mac("browser-a"), fake_mac("browser-b")]
HOSTILE = "<img src=x onerror=alert(1)>.log"


def _browse(page: Path, work: Path, *extra: str) -> tuple[str, list[str]]:
    """The DOM Chromium made of ``page`` and the URLs the page itself asked the network for."""
    net_log = work / "net.json"
    run = subprocess.run(
        [
            str(BROWSER),
            "--headless",
            "--no-sandbox",  # tests may run as root in a container
            "--disable-gpu",
            f"--user-data-dir={work / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # and nothing resolves, whatever
            f"--log-net-log={net_log}",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(work)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    events = json.loads(net_log.read_text(encoding="utf-8"))["events"]
    asked = {
        event["params"]["url"]
        for event in events
        if "file://" in str(event.get("params", {}).get("network_isolation_key", ""))
        and not str(event["params"].get("url", "file:")).startswith("file:")
    }
    return run.stdout, sorted(asked)


def _evidence(folder: Path) -> None:
    folder.mkdir()
    (folder / "a.log").write_text(
        f"2024-01-01 10:00:00.000 I/Band: mac={MACS[0]} authKey={KEYS[0]}\n"
        f"2024-02-01 10:00:00.000 I/Band: mac={MACS[0]} authKey={KEYS[0]}\n"
        f"2024-03-01 10:00:00.000 I/Band: mac={MACS[0]} authKey={KEYS[1]}\n",
        encoding="utf-8",
    )
    (folder / HOSTILE).write_text(
        f"2024-04-01 10:00:00.000 I/Band: mac={MACS[1]} authKey={KEYS[2]}\n", encoding="utf-8"
    )


def test_the_report_renders_every_key_and_loads_nothing(tmp_path: Path) -> None:
    _evidence(tmp_path / "evidence")
    out = tmp_path / "report"
    result = runner.invoke(app, ["scan", str(tmp_path / "evidence"), "--report", str(out)])
    assert result.exit_code == 0, result.output
    page = out / "report.html"
    source = page.read_text(encoding="utf-8")
    assert "<script" not in source
    assert re.findall(r"<[^>]*\s(?:src|href)=|url\(", source) == []  # nothing to fetch

    dom, asked = _browse(page, tmp_path, "--dump-dom")
    assert asked == []
    assert dom.count("<section>") == 2  # a device each
    for key in KEYS:
        assert "0x" + key in dom
    chosen = [line for line in dom.split('<code class="key">')[1:]]
    assert sorted(c.split("<")[0] for c in chosen) == sorted(["0x" + KEYS[1], "0x" + KEYS[2]])
    assert dom.count('class="segno"') == 2  # a QR code per device
    assert dom.count('aria-label="key sightings over time"') == 2
    assert "<img" not in dom  # the hostile file name is text
    assert "&lt;img src=x onerror=alert(1)&gt;.log" in dom
    assert "2024-01-01T10:00:00" in dom and "2024-04-01T10:00:00" in dom  # timeline ends

    shot = tmp_path / "shot.png"
    _browse(page, tmp_path, f"--screenshot={shot}", "--window-size=800,1200")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 800  # IHDR width: a page was drawn


def test_the_check_sees_a_page_that_loads(tmp_path: Path) -> None:
    """The control: an external image is a request the net log shows (the check can fail)."""
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><img src="http://canary.invalid/x.png"><p>x</p>')
    _, asked = _browse(page, tmp_path, "--dump-dom")
    assert asked == ["http://canary.invalid/x.png"]
