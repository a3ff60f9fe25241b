"""The HTML report in a real headless Chromium (Debian's `chromium`; .ci/run installs it).

Without a browser these tests skip, saying so (RTHOOKS_REQUIRE_CHROMIUM=1 makes that a failure); see `chromium()`.

Three loads of the same page: with JavaScript (the filters initialise and mark <body>), with a
filter preset from the address (the script really filters), and without JavaScript (everything
is still there and readable). Plus a screenshot that must be a real, non-trivial PNG. And the
published matrix rendered again: its layout measured at 800 px, the headline, the deviations
section, the matrix's tooltips, n/a cells, links and groups.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

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


#: Where the browser is looked for: $RTHOOKS_CHROMIUM (a path or a command name), else these on PATH.
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def find_chromium() -> str | None:
    """The headless browser to use, or None: ``$RTHOOKS_CHROMIUM`` first, then Debian's and Ubuntu's names."""
    named = os.environ.get("RTHOOKS_CHROMIUM")
    for name in [named] if named else CHROMIUM_NAMES:
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def chromium() -> str:
    """The browser, or a skip that says how to get one: a fresh clone's `tox -e tests` has no browser and
    must still pass. With ``RTHOOKS_REQUIRE_CHROMIUM=1`` a missing browser is a failure instead, for a CI
    that must never let the report's browser checks go quietly unrun (.ci/run installs chromium first)."""
    exe = find_chromium()
    if exe:
        return exe
    why = (
        "no Chromium found (looked for $RTHOOKS_CHROMIUM, then chromium and chromium-browser on PATH): "
        "install it (apt-get install -y chromium) to run the HTML report's browser tests"
    )
    if os.environ.get("RTHOOKS_REQUIRE_CHROMIUM"):
        pytest.fail(f"RTHOOKS_REQUIRE_CHROMIUM is set, so the browser tests must run: {why}")
    pytest.skip(why)


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
    chromium()  # skip before the run that makes the report when there is no browser to open it
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


# ---- the page leads the eye (issue 12): rendered from the published record, so no Go program runs ----

PUBLISHED = Path(__file__).resolve().parent.parent / "reports" / "published" / "run.json.xz"

#: Injected into a copy of the page: measures the layout once loaded and writes it into the DOM, which
#: --dump-dom then returns. A "one word per line" cell: three words or more, as many lines as words,
#: under 120 px wide.
MEASURE = """
(function () {
  function lines(el) {  // the lines its text is set on (text fragments only, not the boxes around them)
    var tops = {}, walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), t;
    while ((t = walk.nextNode())) {
      var r = document.createRange(); r.selectNodeContents(t);
      Array.prototype.forEach.call(r.getClientRects(), function (b) { if (b.width > 0) { tops[Math.round(b.top / 4)] = 1; } });
    }
    return Object.keys(tops).length;
  }
  function measure() {
    var narrow = [];
    document.querySelectorAll("td, th").forEach(function (c) {
      if (!c.offsetParent) { return; }
      var words = c.textContent.trim().split(/\\s+/).filter(Boolean);
      if (words.length >= 3 && c.clientWidth < 120 && lines(c) >= words.length) { narrow.push(c.textContent.trim().slice(0, 80)); }
    });
    var summary = document.querySelector("table.summary");
    var out = {
      inner: window.innerWidth,
      page: document.documentElement.scrollWidth,
      summary: summary.scrollWidth, summaryBox: summary.parentElement.clientWidth,
      headlines: Array.prototype.map.call(document.querySelectorAll("li.headline"), function (h) { return h.getBoundingClientRect().right; }),
      narrow: narrow
    };
    var pre = document.createElement("pre"); pre.id = "measure"; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  if (document.readyState === "complete") { measure(); } else { window.addEventListener("load", measure); }
})();
"""


@pytest.fixture(scope="module")
def published_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("published")
    p = run_cli("report", str(PUBLISHED), "--format", "html", "--out", str(d), "--excerpt", "400")
    assert p.returncode == 0, p.stderr
    return d / "index.html"


@pytest.fixture(scope="module")
def published_record() -> dict[str, Any]:
    from rthooks.protocol.record import read

    return read(PUBLISHED)


def test_usable_at_800_px(published_page: Path, tmp_path: Path) -> None:
    page = tmp_path / "measured.html"
    page.write_text(published_page.read_text().replace("</body>", f"<script>{MEASURE}</script></body>"))
    dom = browse(page, tmp_path, "--window-size=800,1000", "--dump-dom").stdout
    m = re.search(r"<pre id=\"measure\">(.*?)</pre>", dom, re.S)
    assert m, "the measuring script did not run"
    got = json.loads(html.unescape(m.group(1)))
    assert got["inner"] == 800
    assert got["page"] <= got["inner"], f"the page is {got['page']} px wide in an 800 px window"
    assert got["summary"] <= got["summaryBox"], "the summary table overflows its box"
    assert got["headlines"] and max(got["headlines"]) <= got["inner"]
    assert got["narrow"] == [], f"cells set one word per line: {got['narrow'][:5]}"
    shot = tmp_path / "800.png"
    browse(published_page, tmp_path, f"--screenshot={shot}", "--window-size=800,1200")
    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (800, 1200)


def test_headline_and_deviations_come_before_the_matrix(
    published_page: Path, published_record: dict[str, Any], tmp_path: Path
) -> None:
    dom = browse(published_page, tmp_path, "--dump-dom").stdout
    order = re.findall(r"<section id=\"([a-z]+)\"", dom)
    assert order[:3] == ["summary", "deviations", "matrix"], order
    text = published_page.read_text()
    for impl in {r["impl"] for r in published_record["results"]}:
        statuses = Counter(r["status"] for r in published_record["results"] if r["impl"] == impl)
        applicable = sum(statuses.values()) - statuses["skip"]
        head = re.search(rf"<li class='headline[^']*' data-impl='{re.escape(impl)}'>(.*?)</li>", text)
        assert head, impl
        assert f"{round(100 * statuses['pass'] / applicable, 1)}%</span> of {applicable} applicable" in head.group(1)
        if statuses["xfail"]:
            assert f"{statuses['xfail']} known deviation(s)" in head.group(1)
    # Every result that neither passed nor was skipped is in the deviations, with its reason and clauses.
    want = Counter((r["case"], r["status"]) for r in published_record["results"] if r["status"] not in ("pass", "skip"))
    rows = re.findall(
        r"<tr data-filter=deviations data-status='(\w+)'[^>]*><td[^>]*>\w+</td><td><a href='#case-[^']*'><code>([^<]+)</code>"
        r"</a></td><td title='([^']*)'>.*?</td><td>(.*?)</td><td>(.*?)</td></tr>",
        text,
    )
    got: Counter[tuple[str, str]] = Counter()
    for status, case, impls, reason, clauses in rows:
        got[(case, status)] += len(impls.split(", "))
        assert reason.strip() and "#" in clauses, (case, reason, clauses)
    assert want and got == want


def test_matrix_cells_have_tooltips_na_and_link_the_failing_case(
    published_page: Path, published_record: dict[str, Any]
) -> None:
    from rthooks.goversion import GoVersion
    from rthooks.spec.load import default_spec

    text = published_page.read_text()
    matrix = text[text.index("<table class=matrix>") : text.index("</table>", text.index("<table class=matrix>"))]
    cells = re.findall(r"<td class=(s-[a-z]+)( title='[^']*')?>", matrix)
    assert cells and all(title for _, title in cells), "a matrix cell without a tooltip"
    status = {(r["case"], r["impl"]): r["status"] for r in published_record["results"]}
    rows = re.findall(r"<tr data-filter=items[^>]*><td class=item><code>([^<]+)</code>.*?</tr>", matrix, re.S)
    body = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<tr data-filter=items[^>]*><td class=item><code>([^<]+)</code>.*?</tr>", matrix, re.S)
    }
    assert len(rows) == len(body) > 300
    spec = default_spec()
    go121 = GoVersion.parse("1.21.13")
    na = [i for i in rows if i in spec.items and not spec.items[i].exists_in(go121)]
    assert na, "no item of the published matrix is missing from go1.21"
    impls = [m for m in re.findall(r"<th title='[^']*'>([^<]+)</th>", matrix)]
    col = impls.index("go1.21")
    for item in na:
        tds = re.findall(r"<td class=(s-[a-z]+) title='([^']*)'>", body[item])
        assert tds[col][0] in ("s-na", "s-fail", "s-pass", "s-xfail"), (item, tds[col])
        if tds[col][0] == "s-na":
            assert "not in this release" in html.unescape(tds[col][1])
    assert sum(1 for item in na if "class=s-na" in body[item]) >= len(na) // 2
    # A row worse than pass links a case that is worse than pass somewhere; its cells link theirs.
    checked = 0
    for item, row in body.items():
        if "class=s-xfail" not in row and "class=s-fail" not in row:
            continue
        linked = re.search(r"</td><td><a href='#case-([^']+)'>", row)
        assert linked, item
        worse = ("xfail", "xpass", "fail", "timeout", "error", "crash")  # the row links its worst case
        assert any(status.get((linked.group(1), i)) in worse for i in impls), (item, linked.group(1))
        for cls, href in re.findall(r"<td class=(s-x?fail) title='[^']*'><a href='#case-([^']+)'>", row):
            assert cls.removeprefix("s-") in {status.get((href, i)) for i in impls}, (item, href)
            checked += 1
    assert checked > 5


def test_items_are_grouped_by_their_own_area(published_page: Path) -> None:
    text = published_page.read_text()
    matrix = text[text.index("<table class=matrix>") :]
    groups = re.findall(r"<tbody data-group data-package='([^']+)'>(.*?)</tbody>", matrix, re.S)
    names = [g for g, _ in groups]
    for area, prefix in (("env", "env:"), ("godebug", "godebug:"), ("process", "process:")):
        assert area in names, names
        body = dict(groups)[area]
        ids = re.findall(r"<td class=item><code>([^<]+)</code>", body)
        assert ids and all(i.startswith(prefix) for i in ids), (area, ids[:5])
    runtime = re.findall(r"<td class=item><code>([^<]+)</code>", dict(groups)["runtime"])
    assert not [i for i in runtime if i.split(":")[0] in ("env", "godebug", "process")]
    assert text.count("<style>") == 1 and text.count("<script>") == 1 and "<link" not in text


def test_implementation_columns_are_grouped_by_compiler_and_port(
    published_page: Path, published_record: dict[str, Any]
) -> None:
    """The matrix's columns sit under group headers (oracle, gc on linux/amd64, gc on the other ports,
    gccgo) whose spans cover exactly the implementations of each group, in column order."""
    text = published_page.read_text()
    matrix = text[text.index("<table class=matrix>") : text.index("</thead>", text.index("<table class=matrix>"))]
    groups = re.findall(r"<th colspan='(\d+)' title='([^']*)'>([^<]+)</th>", matrix)
    assert [g[2] for g in groups] == ["oracle", "gc on linux/amd64", "gc on other ports", "gccgo"], groups
    columns = re.findall(r"<th title='[^']*'>([^<]+)</th>", matrix)
    assert sum(int(n) for n, _, _ in groups) == len(columns) == len({r["impl"] for r in published_record["results"]})
    at = 0
    for n, members, label in groups:
        assert members.split(", ") == columns[at : at + int(n)], label
        at += int(n)
    ports = dict((g[2], g[1]) for g in groups)["gc on other ports"].split(", ")
    assert ports == ["go1.27-linux-386", "go1.27-linux-arm64", "go1.27-linux-riscv64", "go1.27-wasip1-wasm"]
