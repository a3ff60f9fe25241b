"""rthooks.reports: run records rendered as HTML, Markdown, JUnit and JSON; diff, merge and trend.

Reports read only run records (harness/schema/result.schema.json) and the spec.
``rthooks report --help`` lists the commands (rthooks.reports.cli).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.text import printable

#: Each format and the file it writes in the output folder.
FILES = {"html": "index.html", "md": "report.md", "junit": "junit.xml", "json": "report.json"}
#: Default length of the stdout / stderr / reason excerpts in a report.
EXCERPT = 2000


def render(view: object, fmt: str, limit: int = EXCERPT) -> str:
    """One format of the report of ``view`` (a rthooks.reports.model.View), as text."""
    # deferred for start-up speed: this package's __init__ runs for every reports module
    from rthooks.reports import html, jsonout, junit, markdown
    from rthooks.reports.model import View

    assert isinstance(view, View)
    renderer = {"html": html.render, "md": markdown.render, "junit": junit.render, "json": jsonout.render}[fmt]
    return renderer(view, limit)


def write_reports(paths: Sequence[Path | str], formats: Sequence[str], out: Path, limit: int = EXCERPT) -> list[Path]:
    """Render the records at ``paths`` in every format into the folder ``out``; the files written."""
    # deferred for start-up speed: this package's __init__ runs for every reports module
    from rthooks.reports.model import load_view

    view = load_view(paths)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for fmt in dict.fromkeys(formats):
            dest = out / FILES[fmt]
            # errors="replace": a lone surrogate (which UTF-8 cannot encode) from anywhere the renderers did
            # not escape becomes "?" rather than a half-written file.
            dest.write_text(render(view, fmt, limit), encoding="utf-8", errors="replace")
            written.append(dest)
    except OSError as e:
        where = printable(str(e.filename if e.filename is not None else out))
        raise RthooksError(f"cannot write: {e.strerror or e}", where=where) from None
    return written
