"""The pytest plugin: each (case, implementation) pair is a test item.

    pytest cases/ --impl oracle --impl go=/path/to/go -k setgcpercent

Inert unless ``--impl`` is given, so installing rthooks never changes other
test suites. Items are named ``CASE-ID[IMPL]`` so ``-k`` selects by case id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rthooks.errors import RthooksError


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rthooks", "rthooks conformance cases")
    group.addoption(
        "--impl",
        action="append",
        default=[],
        metavar="IMPL",
        help="run rthooks cases against IMPL: oracle[=1.N], go, go=PATH, go=1.N, cmd[:NAME]=COMMAND",
    )


_IMPLS = pytest.StashKey[list[Any]]()


def _impls(config: pytest.Config) -> list[Any]:
    cached = config.stash.get(_IMPLS, None)
    if cached is None:
        # deferred for start-up speed: pytest loads this plugin in every session, rthooks's or not
        from rthooks.harness.impls import parse_impl
        from rthooks.spec.load import default_spec

        newest = default_spec().releases[-1]
        try:
            cached = [parse_impl(t, newest) for t in config.getoption("--impl")]
        except RthooksError as e:
            raise pytest.UsageError(f"rthooks: {e}") from None
        for impl in cached:
            impl.prepare([])
        config.stash[_IMPLS] = cached
    return list(cached)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not parent.config.getoption("--impl") or file_path.suffix != ".yaml":
        return None
    try:
        # deferred for start-up speed: pytest loads this plugin in every session, rthooks's or not
        from rthooks.yamlsrc import load

        data = load(file_path)
    except RthooksError:
        return None
    if isinstance(data, dict) and "cases" in data:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self) -> Any:
        # deferred for start-up speed: pytest loads this plugin in every session, rthooks's or not
        from rthooks.harness.cases import cases_in_file
        from rthooks.spec.lint import lint_paths

        # A case file is run only as `rthooks run` would: after it validates (contract 5).
        findings = lint_paths([self.path])
        if findings:
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            raise self.CollectError(f"{findings[0]}{more}")
        for case in cases_in_file(self.path):
            for impl in _impls(self.config):
                yield CaseItem.from_parent(self, name=f"{case.id}[{impl.name}]", case=case, impl=impl)


class CaseFailure(Exception):
    pass


class CaseItem(pytest.Item):
    def __init__(self, *, case: Any, impl: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.case, self.impl = case, impl

    def runtest(self) -> None:
        # deferred for start-up speed: pytest loads this plugin in every session, rthooks's or not
        from rthooks.harness.runner import run_one
        from rthooks.harness.verdict import located
        from rthooks.spec.load import default_spec

        result = run_one(self.impl, self.case, default_spec())
        status, reasons = result["status"], result.get("reasons") or []
        if status == "pass":
            return
        if status == "skip":
            pytest.skip("; ".join(reasons))
        if status == "xfail":
            pytest.xfail(result.get("known") or "known deviation")
        raise CaseFailure(f"{status}: " + "; ".join(located(str(r), self.case) for r in reasons))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):  # the file as the user names it, not a machine path
            # deferred for start-up speed: pytest loads this plugin in every session, rthooks's or not
            from rthooks.yamlsrc import display_name

            return f"{display_name(Path(self.case.file))}:{self.case.line}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, self.name
