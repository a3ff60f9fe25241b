"""The HTML report in a real headless Chromium (Debian's `chromium`; .ci/run installs it).

Three loads of the same page: with JavaScript (the filters initialise and mark <body>), with a
filter preset from the address (the script really filters), and without JavaScript (everything
is still there and readable). Plus a screenshot that must be a real, non-trivial PNG.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_reports import SELECT

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    exe = shutil.which("chromium")
    assert exe, "these tests need Debian's chromium: apt-get install -y chromium (.ci/run installs it)"
    return exe


def browse(page: Path | str, tmp: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    url = page if isinstance(page, str) else page.as_uri()
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    p = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("html")
    run = d / "run.json"
    p = run_cli("run", "--impl", "oracle", "--impl", "go=1.21", "--impl", "go=1.27", *SELECT, "--out", str(run))
    assert p.returncode in (0, 1) and run.is_file(), p.stderr[-3000:]
    p = run_cli("report", str(run), "--format", "html", "--out", str(d / "out"))
    assert p.returncode == 0, p.stderr
    return d / "out" / "index.html"


def test_screenshot_is_a_real_png(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    browse(report, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert len(data) > 10 * 1024, f"only {len(data)} bytes: a blank page?"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1280, 2000)


def test_script_initialises_without_breaking_the_dom(report: Path, tmp_path: Path) -> None:
    dom = browse(report, tmp_path, "--dump-dom").stdout
    assert re.search(r"<body[^>]*\bdata-filters=\"ready\"", dom), "the filter script did not finish"
    form = re.search(r"<form id=\"filters\"[^>]*>", dom)
    assert form and "hidden" not in form.group(0), "the filter bar stayed hidden"
    assert re.search(r"id=\"filter-count\"[^>]*>showing [^<]*\b(\d+) of \1 items", dom)  # nothing filtered yet
    for key in ("rthooks conformance report", "runtime-version-names-release", "oracle-go1.27", "go1.21", "go1.27"):
        assert key in dom, key
    assert "</table>" in dom and "Seed errata" in dom and "Coverage" in dom
    assert not re.search(r"<details class=\"case\"[^>]*hidden", dom), "no filter is set, yet cases are hidden"


def test_filters_from_the_address_hide_what_does_not_match(report: Path, tmp_path: Path) -> None:
    dom = browse(report.as_uri() + "?q=runtime-version-names&status=pass,fail", tmp_path, "--dump-dom").stdout
    cases = re.findall(r"<details class=\"case\" id=\"case-([^\"]+)\"([^>]*)>", dom)
    assert len(cases) > 5
    shown = [c for c, attrs in cases if "hidden" not in attrs]
    assert shown == ["runtime-version-names-release"], shown
    count = re.search(r"id=\"filter-count\"[^>]*>([^<]*)<", dom)
    assert count and "1 of " + str(len(cases)) + " cases" in count.group(1), count


def test_readable_without_javascript(report: Path, tmp_path: Path) -> None:
    # What a browser without JavaScript shows is the page without its script (Chromium's
    # --blink-settings=scriptEnabled=false also stops --dump-dom, which needs scripting).
    html = report.read_text()
    assert html.count("<script>") == 1
    bare = tmp_path / "no-script.html"
    bare.write_text(re.sub(r"<script>.*?</script>", "", html, flags=re.S))
    dom = browse(bare, tmp_path, "--dump-dom").stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body and "data-filters" not in body.group(0)
    assert re.search(r"<form id=\"filters\"[^>]*hidden", dom), "without JavaScript the filters must stay hidden"
    assert "runtime-version-names-release" in dom and '<details class="case"' in dom and '<table class="matrix">' in dom
    assert not re.search(r"<(details|tr)[^>]*\bhidden", dom), "without JavaScript nothing may be hidden"
    shot = tmp_path / "no-script.png"
    browse(bare, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10 * 1024
