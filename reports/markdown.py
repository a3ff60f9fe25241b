"""The report as Markdown (GitHub-flavoured): summaries, the matrix, case details, coverage, errata."""

from __future__ import annotations

from typing import Any

from rthooks.protocol.statuses import STATUSES
from rthooks.reports.model import ABSENT, NO_CASE, SHOWN, View, expected_lines, span, who
from rthooks.text import printable

MARK = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "xfail": "🟡 xfail",
    "xpass": "🟣 xpass",
    "skip": "⚪ skip",
    "error": "🟠 error",
    "timeout": "⏱ timeout",
    "crash": "💥 crash",
    NO_CASE: "· no case",
    ABSENT: "n/a",
}


def cell(text: Any) -> str:
    """Text safe inside a table cell: one line, pipes and markup characters escaped, control characters
    (ESC, NUL, ...) and lone surrogates shown as escapes (``\\x1b``)."""
    s = printable("" if text is None else str(text))
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("`", "\\`").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
    return " ".join(s.split())


def code(text: Any) -> str:
    """Inline code in a table cell (backticks cannot be escaped inside code: they become ')."""
    s = " ".join(printable(str(text)).split()).replace("`", "'").replace("|", "\\|")
    return f"`{s}`" if s else ""


def fence(text: str) -> str:
    """A fenced block of literal text (longer fences where the text holds backticks); controls escaped."""
    text = printable(text, lines=True)
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}text\n{text.rstrip()}\n{ticks}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def counts_text(counts: dict[str, int]) -> str:
    label = {NO_CASE: "no case", ABSENT: "n/a"}
    return ", ".join(f"{counts[s]} {label.get(s, s)}" for s in (*STATUSES, NO_CASE, ABSENT) if counts.get(s))


def render(view: View, limit: int) -> str:
    out: list[str] = [f"# {view.title()}", ""]
    out.append(
        f"{len(view.cases)} case(s), {len(view.impls)} implementation(s), {len(view.results)} result(s); "
        f"spec revision {cell(', '.join(sorted({r.record['spec_revision'] for r in view.runs})))}."
    )
    out += ["", "## Runs", ""]
    out.append(
        table(
            ["record", "started", "finished", "shard", "implementations", "results"],
            [
                [
                    code(i["file"]),
                    cell(i["started"]),
                    cell(i["finished"] or "unfinished") + (" (interrupted)" if i["interrupted"] else ""),
                    cell(i["shard"] or "—"),
                    cell(", ".join(i["implementations"])),
                    str(i["results"]),
                ]
                for i in (run.info() for run in view.runs)
            ],
        )
    )

    out += ["", "## Summary", "", "Results per implementation:", ""]
    out.append(
        table(
            ["implementation", "kind", "Go", *STATUSES],
            [
                [cell(i.key), cell(i.kind), cell(i.go_version), *(str(v) for v in view.totals(i.key).values())]
                for i in view.impls
            ],
        )
    )
    out += ["", "Cases by package (a case covering clauses of two packages counts in both):", ""]
    rows = []
    for pkg in view.packages:
        per = [view.by_package(i.key).get(pkg, {}) for i in view.impls]
        if any(per):
            rows.append([code(pkg), *(cell(counts_text(c)) or "—" for c in per)])
    out.append(table(["package", *(cell(i.key) for i in view.impls)], rows))
    out += ["", "Spec items by status (the worst status of the cases covering the item's clauses):", ""]
    out.append(
        table(
            ["implementation", "items"],
            [[cell(i.key), cell(counts_text(view.items_by_status(i.key)))] for i in view.impls],
        )
    )

    with_cases = [r for r in view.items if r.cases]
    without = len(view.items) - len(with_cases)
    out += ["", "## Matrix", ""]
    out.append(
        f"Spec items with at least one case ({len(with_cases)} of {len(view.items)}); "
        "each cell is the worst status of the cases covering the item on that implementation, in the order "
        "skip < pass < xfail < xpass < fail < timeout < error < crash (so an item is skip only when all its cases "
        "were); `no case`: none ran there, `n/a`: the item is not in that release. "
        f"{without} item(s) have no case at all (see the coverage map)."
    )
    out.append("")
    out.append(
        table(
            ["item", "package", "cases", *(cell(i.key) for i in view.impls)],
            [
                [
                    code(r.id),
                    code(r.package),
                    str(len(r.cases)),
                    *(MARK.get(r.cells[i.key], r.cells[i.key]) for i in view.impls),
                ]
                for r in with_cases
            ],
        )
    )

    notable = [c for c in view.cases if view.notable(c)]
    out += ["", "## Cases", ""]
    out.append(
        table(
            ["case", *(cell(i.key) for i in view.impls)],
            [
                [
                    f"[{cell(c)}](#case-{_anchor(c)})" if c in notable else cell(c),
                    *(MARK[r.status] if (r := view.by_key.get((c, i.key))) else "—" for i in view.impls),
                ]
                for c in view.cases
            ],
        )
    )
    out += [
        "",
        f"Details of the {len(notable)} case(s) with a result other than pass or skip follow; "
        "the HTML report details every case.",
    ]
    for case in notable:
        covers = view.cases[case]
        out += ["", f"### {cell(case)}", "", f'<a id="case-{_anchor(case)}"></a>', ""]
        shown = ", ".join(code(c) for c in covers[:SHOWN]) + (
            f" and {len(covers) - SHOWN} more" if len(covers) > SHOWN else ""
        )
        out.append(f"Covers: {shown or 'nothing'}")
        out += ["", "Expected:", ""]
        out += [f"- {code(x)}" for x in expected_lines(view.expected(case))] or ["- (nothing)"]
        out.append("")
        rows = []
        excerpts = []
        for o in view.outcomes(case):
            d = o.detail(limit)
            rows.append(
                [
                    cell(who(d["implementations"], [i.key for i in view.impls if (case, i.key) in view.by_key])),
                    MARK[d["status"]],
                    cell(d["exit_status"]),
                    cell(d["signal"] or ""),
                    code("; ".join(d["steps"])[:240]),
                    cell("; ".join(d["reasons"])[:300] + (f" (known: {d['known']})" if d["known"] else "")),
                    span(d["duration_s"]),
                    span(d["process_s"]),
                ]
            )
            if d["stderr"] and d["status"] not in ("pass", "skip"):
                excerpts.append(f"stderr of {cell(d['output_of'])} ({d['status']}):\n\n{fence(d['stderr'])}")
        out.append(
            table(
                ["implementations", "status", "exit", "signal", "observed steps", "reasons", "time s", "process s"],
                rows,
            )
        )
        for x in excerpts:
            out += ["", x]

    total = view.coverage_total()
    out += ["", "## Coverage", ""]
    out.append(f"{total['covered']} of {total['clauses']} clauses ({total['percent']}%) have at least one case.")
    out.append("")
    out.append(
        table(
            ["package", "clauses", "with a case", "%"],
            [[code(p["package"]), str(p["clauses"]), str(p["covered"]), f"{p['percent']}"] for p in view.coverage],
        )
    )
    out += ["", "Clauses with a case, per spec item:", ""]
    for p in view.coverage:
        items: dict[str, list[str]] = {}
        for m in p["with_cases"]:
            item, _, name = m["clause"].partition("#")
            items.setdefault(item, []).append(name)
        if items:
            out.append(
                f"- {code(p['package'])}: "
                + "; ".join(f"{code(i)} {', '.join(code('#' + n) for n in ns)}" for i, ns in items.items())
            )

    if view.untestable:
        out += ["", f"{len(view.untestable)} clause(s) are marked untestable and left out of the figure:", ""]
        out.append(
            table(
                ["clause", "reason", "why"],
                [[code(c), cell(u["reason"]), cell(u["detail"])] for c, u in view.untestable.items()],
            )
        )

    out += ["", "## Seed errata", ""]
    out.append(
        f"{len(view.errata)} claim(s) of the seed document are wrong, outdated or imprecise (`rthooks spec errata`)."
    )
    out.append("")
    out.append(
        table(
            ["claim", "verdict", "section", "the seed says", "reality"],
            [
                [
                    code(e["id"]),
                    cell(e["verdict"]),
                    cell(e.get("section", "")),
                    cell(e.get("claim", "")),
                    cell(e.get("reality", "")),
                ]
                for e in view.errata
            ],
        )
    )
    # Every record value above went through cell, code or fence; this pass is the net under them.
    return printable("\n".join(out) + "\n", lines=True)


def _anchor(case: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in case.lower())
