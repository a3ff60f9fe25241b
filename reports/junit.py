"""The report as JUnit XML: one <testsuite> per implementation, one <testcase> per case.

fail and xpass are <failure>s; error, timeout and crash are <error>s; skip and xfail are
<skipped> (xfail with type="xfail" and the expectation file's reason), as pytest reports them.
Passing test cases carry no output (the published file holds thousands of them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rthooks.reports.model import View, detail
from rthooks.text import xml_safe

FAILURE = ("fail", "xpass")
ERROR = ("error", "timeout", "crash")
SKIPPED = ("skip", "xfail")


def _clean(text: object) -> str:
    """Any text as XML 1.0 can hold it: ElementTree escapes markup, but writes NUL, most C0 controls,
    lone surrogates and U+FFFE/U+FFFF as they are, which no XML parser accepts (xml_safe escapes them)."""
    return xml_safe(str(text))


def render(view: View, limit: int) -> str:
    root = ET.Element("testsuites", name="rthooks")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for impl in view.impls:
        results = sorted(view.by_impl.get(impl.key, []), key=lambda r: r.case)
        counts = {
            "tests": len(results),
            "failures": sum(r.status in FAILURE for r in results),
            "errors": sum(r.status in ERROR for r in results),
            "skipped": sum(r.status in SKIPPED for r in results),
        }
        t = sum(r.duration_s for r in results)
        attrs = {"name": _clean(impl.key), **{k: str(v) for k, v in counts.items()}, "time": f"{t:.3f}"}
        suite = ET.SubElement(root, "testsuite", attrs)
        props = ET.SubElement(suite, "properties")
        for k in ("kind", "go_version", "goos", "goarch", "toolchain_hash"):
            if impl.info.get(k):
                ET.SubElement(props, "property", name=k, value=_clean(impl.info[k]))
        ET.SubElement(props, "property", name="record", value=_clean(impl.source))
        for r in results:
            d = detail(r, limit)
            tc = ET.SubElement(
                suite, "testcase", classname=_clean(impl.key), name=_clean(r.case), time=f"{r.duration_s:.3f}"
            )
            why = _clean("; ".join(d["reasons"]) or r.status)
            if r.status in FAILURE:
                msg = why if r.status == "fail" else f"xpass: expected to fail ({r.known or 'see expectations'})"
                el = ET.SubElement(tc, "failure", message=_clean(msg[:500]), type=r.status)
                el.text = _clean("\n".join([*d["reasons"], *d["steps"]]))
            elif r.status in ERROR:
                el = ET.SubElement(tc, "error", message=_clean(why[:500]), type=r.status)
                el.text = _clean("\n".join([*d["reasons"], *d["steps"]]))
            elif r.status in SKIPPED:
                if r.status == "skip":
                    ET.SubElement(tc, "skipped", message=_clean(why[:300]))
                else:
                    ET.SubElement(tc, "skipped", message=_clean(f"xfail: {r.known or why}"[:300]), type="xfail")
            if r.status in FAILURE or r.status in ERROR:  # the output that explains it (kept short for passes)
                out = [f"exit_status={d['exit_status']} signal={d['signal']} process_s={d['process_s']}", *d["steps"]]
                ET.SubElement(tc, "system-out").text = _clean("\n".join(out + ([d["stdout"]] if d["stdout"] else [])))
                if d["stderr"]:
                    ET.SubElement(tc, "system-err").text = _clean(d["stderr"])
        for k, v in counts.items():
            totals[k] += v
        total_time += t
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root, space="")  # one element a line, without indentation (the published file is large)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
