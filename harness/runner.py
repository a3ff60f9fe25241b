"""Running cases against implementations, in parallel, keeping every result gathered.

Each (implementation, case) pair becomes one result. Pairs run on a thread
pool (the work is waiting on child processes); the record on disk is
rewritten as results arrive, so a crash or Ctrl-C loses nothing already
known. On interrupt every live process group is killed before we return.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rthooks import casepolicy
from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case, skip_reason
from rthooks.harness.expectations import apply
from rthooks.harness.impls import Implementation
from rthooks.harness.process import kill_all
from rthooks.harness.program import compile_case
from rthooks.harness.verdict import judge
from rthooks.protocol import record as rec
from rthooks.protocol.results import CaseResult, Record
from rthooks.spec.lint.engine import cases_root
from rthooks.spec.load import Spec, spec_paths, spec_root
from rthooks.ui import phase


def spec_revision() -> str:
    """A content hash of the spec and case files the run used (the record's ``spec_revision``)."""
    h = hashlib.sha256()
    files = spec_paths(spec_root())
    croot = cases_root()
    if croot:
        files += sorted(croot.rglob("*.yaml"))
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def spec_gate(case: Case, spec: Spec, go: GoVersion) -> str | None:
    """N/A reasons from the spec: a call or covered clause that release ``go`` does not have."""
    for step in case.steps:
        if "call" in step:
            item = spec.items.get(step["call"])
            if item is not None and not item.exists_in(go):
                return f"N/A in go{go}: {step['call']} exists from {item.since}" + (
                    f" until {item.removed}" if item.removed else ""
                )
    clauses = spec.clauses()
    live = []
    for cid in case.covers:
        if cid not in clauses:
            continue
        item, c = clauses[cid]
        s = GoVersion.parse(c["since"]) if c.get("since") else item.since
        r = GoVersion.parse(c["removed"]) if c.get("removed") else item.removed
        live.append(s <= go and (r is None or go < r))
    if live and not any(live):
        return f"N/A in go{go}: no covered clause applies to this release"
    return None


class Progress:
    """What a run is doing, on stderr, so that a user (or a CI log) can trust it is not stuck.

    On a terminal, one line rewritten per finished case. Otherwise (a pipe, a CI log) a line per 10% of
    the results, and at least one every ``every`` seconds: a heartbeat thread names the pairs still
    running and for how long when nothing has finished meanwhile (a Go build or a slow case).
    """

    def __init__(self, total: int, stream: Any = sys.stderr, *, every: float = 5.0) -> None:
        self.total, self.done, self.stream, self.every = total, 0, stream, every
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.running: dict[tuple[str, str], float] = {}
        self.last_line = time.monotonic()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def started(self, impl: str, case: str) -> None:
        """A pair began: the heartbeat names it while it runs."""
        with self.lock:
            self.running[(impl, case)] = time.monotonic()

    def update(self, result: CaseResult) -> None:
        with self.lock:
            self.done += 1
            self.counts[result["status"]] += 1
            self.running.pop((result["impl"], result["case"]), None)
            summary = self._summary()
            if self.tty:
                self._write(f"\r\x1b[K[{self.done}/{self.total}] {summary}  {result['impl']} {result['case']}")
                if self.done == self.total:
                    self._write("\n")
            elif (
                (self.total >= 20 and self.done % max(1, self.total // 10) == 0)
                or self.done == self.total
                or time.monotonic() - self.last_line >= self.every
            ):
                self._write(f"rthooks: [{self.done}/{self.total}] {summary}\n")

    def start(self) -> None:
        """Start the heartbeat (on a terminal too: a long case or build shows its elapsed time there)."""
        self._beat = threading.Thread(target=self._heartbeat, name="rthooks-progress", daemon=True)
        self._beat.start()

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=2)

    def __enter__(self) -> Progress:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(1.0, self.every)):
            with self.lock:
                if self.done >= self.total or time.monotonic() - self.last_line < self.every:
                    continue
                now = time.monotonic()
                oldest = sorted(self.running.items(), key=lambda kv: kv[1])[:3]
                busy = ", ".join(f"{impl} {case} ({now - t:.0f}s)" for (impl, case), t in oldest)
                more = f" and {len(self.running) - 3} more" if len(self.running) > 3 else ""
                doing = f"running {busy}{more}" if busy else "waiting"
                line = f"[{self.done}/{self.total}] {self._summary()}  {doing}".rstrip()
                self._write(f"\r\x1b[K{line}" if self.tty else f"rthooks: {line}\n")

    def _summary(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))

    def _write(self, text: str) -> None:
        """Write under the lock (held by the caller); a closed or broken stderr must not end the run."""
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()
        self.last_line = time.monotonic()


def _scratch_base() -> str | None:
    """Case working directories on tmpfs when there is one: creating and removing a directory
    on a disk filesystem costs milliseconds, which adds up over thousands of cases."""
    base = os.environ.get("RTHOOKS_TMP")
    if base:
        return base
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _where(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "top level"


def run_one(impl: Implementation, case: Case, spec: Spec, *, policy_checked: bool = False) -> CaseResult:
    """One (implementation, case) pair, always returning a result (never raising).

    ``policy_checked``: the caller has already found nothing in ``casepolicy.check_case(case.data)``
    (rthooks fuzz runs each generated program on two implementations and checks it once)."""
    start = time.monotonic()
    result: CaseResult = {
        "case": case.id,
        "impl": impl.name,
        "expected": case.expect,
        "covers": case.covers,
        "reasons": [],
        "observed": {},
        "known": None,
        "process_s": None,
    }
    refused = [] if policy_checked else casepolicy.check_case(case.data)
    if refused:
        # Validation refuses these already; this is the harness's own check, for callers that skip it.
        result["status"] = "error"
        result["reasons"] = [f"case refused: {_where(path)}: {msg}" for path, msg in refused[:5]]
        result["duration_s"] = round(time.monotonic() - start, 4)
        return result
    reason = skip_reason(case, impl.release, impl.goos, impl.goarch, impl.capabilities) or spec_gate(
        case, spec, impl.release
    )
    target = getattr(impl, "target", None)
    if reason and reason.startswith("requires capabilities") and target is not None and target.lacks:
        reason += f" ({target.why})"  # what this port cannot do, and why
    if reason:
        result["status"], result["reasons"] = "skip", [reason]
        result["duration_s"] = round(time.monotonic() - start, 4)
        return result
    workdir = Path(tempfile.mkdtemp(prefix="rthooks-case-", dir=_scratch_base()))
    try:
        compiled = compile_case(case, impl.release)
        raw = impl.run(case, compiled, workdir)
        verdict = judge(case, compiled, raw, workdir, impl.check_file)
        status = verdict.status
        result["reasons"], result["observed"] = verdict.reasons, verdict.observed
        result["process_s"] = round(raw.duration_s, 4)
    except Exception as e:
        status = "error"
        result["reasons"] = [f"harness error: {type(e).__name__}: {e}"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    known = impl.known.get(case.id)
    if known:
        result["known"] = known.reason
    result["status"] = apply(status, known)
    result["duration_s"] = round(time.monotonic() - start, 4)
    return result


def run(
    impls: list[Implementation],
    cases: list[Case],
    spec: Spec,
    *,
    out: Path | None,
    jobs: int | None = None,
    shard: str | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Record:
    """Run every case on every implementation; return (and keep writing) the record.

    Ctrl-C, SIGTERM (what a CI cancel sends) and SIGHUP (a closed terminal; not
    when started under nohup) all end the run the same way: every child group is
    killed, workdirs are removed, and the record is written with
    ``interrupted: true`` and every finished result, before KeyboardInterrupt
    propagates to the caller.
    """
    record = rec.new_record([i.describe() for i in impls], spec_revision(), shard)
    with _signals_interrupt():
        return _run(impls, cases, spec, record, out, jobs, on_result)


def _run(
    impls: list[Implementation],
    cases: list[Case],
    spec: Spec,
    record: Record,
    out: Path | None,
    jobs: int | None,
    on_result: Callable[[CaseResult], None] | None,
) -> Record:
    futures: list[cf.Future[CaseResult]] = []
    pool_box: list[cf.ThreadPoolExecutor] = []  # filled by _run_pairs, so an interrupt can shut the pool down
    try:
        for impl in impls:
            with phase(f"preparing {impl.name} (building its driver where it needs one)"):
                impl.prepare(cases)
        pairs = [(impl, case) for impl in impls for case in cases]
        return _run_pairs(pairs, spec, record, out, jobs, on_result, futures, pool_box)
    except KeyboardInterrupt:
        # Further signals must not cut the clean-up short: the record is what the user keeps.
        saved: dict[int, Any] = {}
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):
                saved[s] = signal.signal(s, signal.SIG_IGN)
        try:
            record["interrupted"] = True
            for f in futures:
                f.cancel()
            kill_all()
            for pool in pool_box:
                pool.shutdown(wait=True, cancel_futures=True)
            record["finished"] = rec.now()
            if out:
                rec.write(_sorted(record), out)
        finally:
            for num, handler in saved.items():
                signal.signal(num, handler)
        raise


def _run_pairs(
    pairs: list[tuple[Implementation, Case]],
    spec: Spec,
    record: Record,
    out: Path | None,
    jobs: int | None,
    on_result: Callable[[CaseResult], None] | None,
    futures: list[cf.Future[CaseResult]],
    pool_box: list[cf.ThreadPoolExecutor],
) -> Record:
    with Progress(len(pairs)) as progress:
        lock = threading.Lock()
        last_write = [0.0]

        def keep(result: CaseResult) -> None:
            result = rec.clean_result(result)
            with lock:
                record["results"].append(result)
                if out and time.monotonic() - last_write[0] > 1.0:
                    rec.write(_sorted(record), out)
                    last_write[0] = time.monotonic()
            progress.update(result)
            if on_result:
                on_result(result)

        workers = jobs or os.cpu_count() or 2
        pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rthooks")
        pool_box.append(pool)

        def one(impl: Implementation, case: Case) -> CaseResult:
            progress.started(impl.name, case.id)
            return run_one(impl, case, spec)

        futures.extend(pool.submit(one, impl, case) for impl, case in pairs)
        for fut in cf.as_completed(futures):
            keep(fut.result())
        pool.shutdown(wait=True)
        record["finished"] = rec.now()
        record = _sorted(record)
        if out:
            rec.write(record, out)
        return record


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as Ctrl-C does.

    A signal the harness started with ignored (SIGHUP under nohup) stays ignored:
    that is what the user asked for.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old: dict[int, Any] = {}
    for s in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(s) is not signal.SIG_IGN:
            old[s] = signal.signal(s, interrupt)
    try:
        yield
    finally:
        for num, handler in old.items():
            signal.signal(num, handler)


def _sorted(record: Record) -> Record:
    record["results"] = sorted(record["results"], key=lambda r: (r["impl"], r["case"]))
    return record
