"""The report in a real headless Chromium: it renders, its script runs, nothing is injected."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from distillguard.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None, reason="chromium not installed"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dom_renders_campaign_table_and_script_runs(scan_dir: Path, events_dir: Path, tmp_path: Path) -> None:
    report = write_report(scan_dir, events=events_dir)
    done = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    table = dom[dom.index('id="campaign-table"') :]
    table = table[: table.index("</table>")]
    assert table.count('class="campaign-row"') == 2
    assert "CAMP-1" in table and "CAMP-2" in table
    # The inline sorting script ran (CSP allows inline script, nothing else).
    assert dom.count('data-sortable-ready="1"') == 4  # campaigns, top accounts, flagged, thresholds
    flagged = dom[dom.index('id="flagged-table"') :]
    assert "<td>" in flagged[: flagged.index("</table>")]  # every flagged account has a "why" cell
    # The hostile account id stayed text: no element was created from it.
    assert "<img" not in dom and "onerror=" not in dom.replace("onerror=alert(1)&gt;", "")
    assert dom.count("<svg") >= 4  # two timelines and two graphs


def test_screenshot(scan_dir: Path, events_dir: Path, tmp_path: Path) -> None:
    report = write_report(scan_dir, events=events_dir)
    png = tmp_path / "report.png"
    done = _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={png}", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2400)
    assert len(data) > 50_000  # a blank page compresses to a few KB
