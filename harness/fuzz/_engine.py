"""The search: Hypothesis generates programs, both implementations run each, divergences are shrunk.

Hypothesis reports one failure per run, so the search runs in rounds of 10 to 25 examples, each with
a seed derived from the user's: a divergence ends its round (after Hypothesis has shrunk it to a minimal
program), is recorded under its signature, and later rounds treat programs with a known signature as
agreeing, so the next round looks for a different divergence. The budget (seconds, or examples) is
checked inside the test: once it is spent, examples return at once, except while a failure is being
shrunk, which always finishes.

Throughput: each program runs on both implementations at once (the oracle in-process, the other on a
worker thread, mostly waiting on its process). In the debug area a program that needs no start-up state
runs in the Go driver's batch process (PROTOCOL.md, "Batch mode"); one that needs a process of its own
(a crash, GOTRACEBACK at start, a started CPU profiler) gets one that was started ahead, while the
previous program was compared, and given its environment once known (harness/process.py, WarmStarts).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.errors import Flaky, HypothesisWarning, Unsatisfiable
from hypothesis.stateful import get_state_machine_test

from rthooks import casepolicy
from rthooks.harness.cases import Case
from rthooks.harness.fuzz import _save
from rthooks.harness.fuzz._compare import Comparison, compare, summary
from rthooks.harness.fuzz._strategies import Program
from rthooks.harness.fuzz.areas import AREAS, Area
from rthooks.harness.impls import DriverImpl, Implementation
from rthooks.harness.program import Compiled
from rthooks.harness.runner import run_one
from rthooks.protocol.results import CaseResult, RawRun
from rthooks.spec.load import Spec
from rthooks.text import printable

ROUND = 25  # examples per Hypothesis run (a round ends early at a divergence)
# Examples per Hypothesis run where an example holds several programs (PER_EXAMPLE). Hypothesis generates
# more and more programs already run as a run goes on (its later examples reuse parts of earlier ones): in
# the debug area (oracle against itself, 600 programs, seeds 1-3) rounds of 25 examples generated 564-594
# programs already run, rounds of 10 generated 162-164, and each distinct program cost 16-35% less CPU.
# Against go1.27 (tools/bench_fuzz.py --area debug --examples 800 --batched-only, seed 1), the CPU of every
# process per program went from 12.0 to 8.8 ms.
MULTI_ROUND = 10
FRUITLESS_ROUNDS = 10  # rounds in a row that generate no program not already run before a budget is given up
PER_EXAMPLE = 8  # programs per example in a state-machine area whose programs may share a batch process
SLOW_S = 2.0  # a program that takes longer than this on both implementations together is listed


@dataclass
class Divergence:
    """A minimal program on which the two implementations disagree, with both runs."""

    program: Program
    results: tuple[CaseResult, CaseResult]
    comparison: Comparison
    flaky: bool = False
    saved: Path | None = None

    def why(self) -> list[str]:
        """One line per failing fact: whose fact, and why the other run breaks it."""
        return [f"{side}: {why}" for side, _fact, why in self.comparison.failing]


@dataclass
class Summary:
    """What a fuzz run did.

    ``batched`` and ``alone`` split the programs (shrinking included) by how the second implementation ran
    them: in a batch process shared with other programs, or in a process of their own (an unrecovered
    panic, start-up state, an implementation that cannot batch). Each class has its count and the seconds
    spent on it (see :class:`Fuzzer`: generation is shared out per program, each example's run by phase,
    and the rest in proportion to the counts), so the two add up to ``programs`` and ``seconds``."""

    programs: int = 0
    seconds: float = 0.0
    divergences: list[Divergence] = field(default_factory=list)
    skipped: int = 0
    invalid: int = 0
    notes: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)  # how each implementation's programs were run
    batched: int = 0
    batched_seconds: float = 0.0
    alone: int = 0
    alone_seconds: float = 0.0
    repeated: int = 0  # generated again after an earlier run of the same program: not run, not counted
    remote: list[str] = field(default_factory=list)  # divergences found by --jobs workers (their saved case ids)

    @property
    def rate(self) -> float:
        return self._rate(self.programs, self.seconds)

    @staticmethod
    def _rate(n: int, s: float) -> float:
        return n / s if s > 0 else 0.0

    def classes_line(self) -> str:
        """The two classes' figures (the line before the last): ``batched: N programs in S s (R programs/s);
        a process each: N programs in S s (R programs/s)``."""
        return (
            f"fuzz: batched: {self.batched} programs in {self.batched_seconds:.1f} s "
            f"({self._rate(self.batched, self.batched_seconds):.1f} programs/s); "
            f"a process each: {self.alone} programs in {self.alone_seconds:.1f} s "
            f"({self._rate(self.alone, self.alone_seconds):.1f} programs/s)"
        )

    def final_line(self) -> str:
        return (
            f"fuzz: {self.programs} programs in {self.seconds:.1f} s ({self.rate:.1f} programs/s), "
            f"{self.diverged} divergences"
        )

    @property
    def diverged(self) -> int:
        """How many divergences: found here, and (``--jobs``) found by the workers, once each."""
        return len(self.divergences) + len(self.remote)


class _Diverged(Exception):
    """Raised inside the Hypothesis test to mark a program as failing (a divergence)."""


def database(directory: Path) -> ExampleDatabase:
    """The example database in the rthooks cache, so a rerun starts from what earlier runs found."""
    return DirectoryBasedExampleDatabase(str(directory))


class _Recording:
    """An implementation that keeps the last raw run it made (everything else is the wrapped one's).

    With ``batch``, a Go driver runs programs through ``run_batched``: in its batch process (PROTOCOL.md,
    "Batch mode") or a process started ahead, where the program allows; the driver's start-up is most of
    a small program's cost."""

    def __init__(self, impl: Implementation, *, batch: bool = False) -> None:
        self._impl = impl
        self.last: RawRun | None = None
        self._batched = impl.run_batched if batch and isinstance(impl, DriverImpl) else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._impl, name)

    def run(self, case: Case, compiled: Compiled, workdir: Path) -> RawRun:
        run = self._batched or self._impl.run
        self.last = run(case, compiled, workdir)
        return self.last

    def shares_batch(self, case: Case) -> bool:
        """Whether ``case`` runs in a batch process shared with other programs (not a process of its own)."""
        return self._batched is not None and isinstance(self._impl, DriverImpl) and self._impl.shares_batch(case)

    def close(self) -> list[str]:
        """End the batch processes, if any; a line saying how the programs ran, if any ran in one."""
        impl = self._impl
        if not isinstance(impl, DriverImpl):
            return []
        impl.close_batches()
        batched, processes = impl.batch_counts
        hits, alone = impl.warm_counts()
        if not batched and not alone:
            return []
        return [
            f"{impl.name}: {batched} programs shared {processes} batch processes; "
            f"{hits} of {alone} programs with a process of their own found it started ahead"
        ]


class Fuzzer:
    """One fuzz run: two implementations, an area, a budget.

    In an area whose programs may share a batch process, one Hypothesis example holds up to
    :data:`PER_EXAMPLE` programs (the state machine run that many times on the example's data): the
    example's fixed cost is shared, and the second implementation runs the example's programs one after
    another on its worker thread while the oracle runs them here, so neither waits for the other between
    programs. The programs are independent (each in a fresh model, and a batch process puts every setter
    back between programs), so a divergence is one program's: it is recorded alone, and Hypothesis's
    shrinking empties the example's other programs (an empty machine run is no program).

    Time per class (Summary.batched_seconds, alone_seconds): an example's generation time (from the end of
    the previous example) is shared out equally among its programs; its run is in two phases, the batched
    programs first (until the last of them is compared), then those with a process of their own; what is
    outside examples (a round's set-up, recording a divergence) goes to the classes by their counts.
    """

    def __init__(
        self,
        impls: tuple[Implementation, Implementation],
        spec: Spec,
        *,
        area: str,
        seconds: float | None = None,
        examples: int | None = None,
        seed: int | None = None,
        save: Path | None = None,
        db: ExampleDatabase | None = None,
        stream: TextIO = sys.stderr,
        every: float = 5.0,
        batch: bool = True,
        per_example: int | None = None,
        emit: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if area not in AREAS:
            raise ValueError(f"unknown area {area!r}")
        self.impls, self.spec, self.area = impls, spec, area
        self.seconds, self.examples, self.seed, self.save_dir = seconds, examples, seed, save
        self.db, self.stream, self.every = db, stream, every
        # A --jobs worker's channel to its parent (rthooks.harness.fuzz._jobs): progress and divergences as
        # events instead of lines, and the id and class of every program searched (``ran``).
        self.emit = emit
        self.ran: dict[str, bool] = {}
        self.names = (impls[0].name, impls[1].name)
        # batch=False: one process per program, started for it, as rthooks run does. The env area does not
        # batch: its programs all start with an environment of their own, and starting their processes
        # ahead measured no faster (the runtime's own work dominates: a GOMEMLIMIT of a few MiB keeps the
        # collector running) while it costs a second runtime start-up per program.
        self.area_def: Area = AREAS[area]
        batch = batch and self.area_def.batched
        self.recorders = (_Recording(impls[0], batch=batch), _Recording(impls[1], batch=batch))
        multi = batch and self.area_def.machine is not None
        self.per_example = per_example if per_example is not None else PER_EXAMPLE if multi else 1
        if self.per_example < 1 or (self.per_example > 1 and self.area_def.machine is None):
            raise ValueError("per_example: at least 1, and more than 1 only for a state-machine area")
        self.go = min(impls[0].release, impls[1].release)
        self.summary = Summary()
        self.known: set[frozenset[str]] = set()
        self.searched = 0
        self._ran: set[str] = set()  # the programs already run while searching (not shrinking), by content
        self._failing: list[tuple[Program, tuple[CaseResult, CaseResult], Comparison]] = []
        self._start = 0.0
        self._last_progress = 0.0
        self._worker: ThreadPoolExecutor | None = None
        self._mark = 0.0  # when the last example (or round set-up) ended: generation time starts there
        self._collected: list[Program] = []  # the programs of the example being generated (machine areas)
        self._inner: Callable[[Any], None] | None = None  # the state machine's undecorated Hypothesis test

    # -- budget ---------------------------------------------------------------------------------------

    def _spent(self) -> bool:
        if self.seconds is not None and time.monotonic() - self._start >= self.seconds:
            return True
        return self.examples is not None and self.searched >= self.examples

    # -- programs -------------------------------------------------------------------------------------

    def run_program(self, program: Program) -> tuple[CaseResult, CaseResult]:
        """Run ``program`` on both implementations (the harness's own run_one: sandbox, judge, record)."""
        return self.run_programs([program])[0][1]

    def _case(self, program: Program) -> tuple[Case, bool]:
        data = program.case_data(_save.case_id(program), covers=[])  # no covers: nothing gates the run
        if self.area_def.requires and "requires" not in data:
            data["requires"] = dict(self.area_def.requires)
        case = Case(id=data["id"], data=data, file="<fuzz>", line=0)  # type: ignore[arg-type]
        return case, not casepolicy.check_case(data)  # once for both (a refused case: each run_one says so)

    def run_programs(
        self, programs: list[Program], on_result: Callable[[Program, tuple[CaseResult, CaseResult]], None] | None = None
    ) -> list[tuple[Program, tuple[CaseResult, CaseResult]]]:
        """Run ``programs`` on both implementations, those that share a batch process first; return each with
        its results, in that order (``on_result`` is called as each pair is complete: raising there stops the
        rest). The second implementation runs them one after another on a worker thread, mostly waiting on
        its process, while the oracle runs them here: each program costs the slower of the two, not their
        sum, and the worker does not wait for the comparisons."""
        jobs = [(p, *self._case(p)) for p in programs]
        jobs.sort(key=lambda j: not self.recorders[1].shares_batch(j[1]))  # stable: the batched ones first
        t0 = time.monotonic()
        pool = self._pool()
        others = [pool.submit(self._run_one, self.recorders[1], case, checked) for _, case, checked in jobs]
        out: list[tuple[Program, tuple[CaseResult, CaseResult]]] = []
        phase = t0
        try:
            for (program, case, checked), other in zip(jobs, others, strict=True):
                started = time.monotonic()
                try:
                    a = self._run_one(self.recorders[0], case, checked)
                finally:
                    b = other.result()
                self.summary.programs += 1
                took = time.monotonic() - started
                if took > SLOW_S and len(self.summary.slow) < 5:  # what eats the throughput, for the user to see
                    self.summary.slow.append(
                        f"{took:.1f} s: env {program.env}, "
                        + (f"setup {program.setup}, " if program.setup else "")
                        + f"steps {[s.get('call') or s.get('op') for s in program.steps]}"
                    )
                out.append((program, (a, b)))
                batched = self.recorders[1].shares_batch(case)
                if not self._failing:
                    self.ran[case.id] = batched
                try:
                    if on_result is not None:
                        on_result(program, (a, b))
                finally:
                    phase = self._account(batched, phase)
        finally:
            for other in others:  # an early end (a divergence): the rest are not wanted
                other.cancel()
            for other in others:
                if not other.cancelled():
                    other.exception()
        return out

    def _account(self, batched: bool, since: float) -> float:
        """Count one program in its class, with the time since ``since`` (its phase so far); now."""
        now = time.monotonic()
        if batched:
            self.summary.batched += 1
            self.summary.batched_seconds += now - since
        else:
            self.summary.alone += 1
            self.summary.alone_seconds += now - since
        return now

    def _pool(self) -> ThreadPoolExecutor:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rthooks-fuzz")
        return self._worker

    def _run_one(self, rec: _Recording, case: Case, checked: bool = False) -> CaseResult:
        """run_one, with the whole stderr put back: the record keeps only its last 4000 characters, and a
        system-level traceback is longer, so its first line (``panic: ...``) would look missing."""
        rec.last = None
        result = run_one(cast(Implementation, rec), case, self.spec, policy_checked=checked)
        if rec.last is not None and isinstance(result.get("observed"), dict):
            result["observed"]["stderr"] = rec.last.stderr
        return result

    def check(self, program: Program) -> None:
        """The Hypothesis test body for one program: run, compare, and raise on a divergence not seen before."""
        self.check_all([program])

    def check_all(self, programs: list[Program]) -> None:
        """The Hypothesis test body for an example's programs: run them, compare each, and raise at the first
        divergence not seen before (recorded with its program alone). The example's generation time (since
        the last example ended) is shared out equally among its programs, by class."""
        now = time.monotonic()
        generation, self._mark = now - self._mark, now
        shrinking = bool(self._failing)
        if not shrinking:
            if self._spent():
                return
            # Hypothesis generates some programs many times (the minimal one starts every search, and an
            # example's later machines often draw from exhausted data): a program already run agreed (or
            # its divergence is known), so running it again only spends the budget.
            fresh = []
            for p in programs:
                key = _save.case_id(p)  # the program's content, as a saved case is named
                if key in self._ran:
                    self.summary.repeated += 1
                else:
                    self._ran.add(key)
                    fresh.append(p)
            programs = fresh
            if self.examples is not None:
                programs = programs[: self.examples - self.searched]
            self.searched += len(programs)
        if not programs:
            return
        before = (self.summary.batched, self.summary.alone)
        try:
            self.run_programs(programs, self._compared)
        finally:
            nb, na = self.summary.batched - before[0], self.summary.alone - before[1]
            if nb + na:
                self.summary.batched_seconds += generation * nb / (nb + na)
                self.summary.alone_seconds += generation * na / (nb + na)
            self._mark = time.monotonic()

    def _compared(self, program: Program, results: tuple[CaseResult, CaseResult]) -> None:
        cmp = compare(program, results[0], results[1], self.names)
        self._progress()
        if cmp.kind == "skip":
            self.summary.skipped += 1
            return
        if cmp.kind == "invalid":
            self.summary.invalid += 1
            if len(self.summary.notes) < 5:
                self.summary.notes.append(f"invalid program ({cmp.note})")
            return
        if cmp.kind == "diverged" and not cmp.signature <= self._known_labels():
            self._failing.append((program, results, cmp))
            raise _Diverged(", ".join(sorted(cmp.signature)))

    def _known_labels(self) -> frozenset[str]:
        """Every label of every divergence recorded: a program that only combines known divergences (a known
        value divergence in a program that also crashes with a known traceback difference) is not new."""
        return frozenset().union(*self.known)

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress < self.every:
            return
        self._last_progress = now
        s = self.summary
        if self.emit is not None:
            self.emit({"progress": {"programs": s.programs, "skipped": s.skipped, "shrinking": bool(self._failing)}})
            return
        state = " (shrinking)" if self._failing else ""
        self._say(
            f"fuzz: [{self.area}] {s.programs} programs in {now - self._start:.0f} s, "
            f"{len(s.divergences)} divergences, {s.skipped} skipped{state}"
        )

    def _say(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text + "\n")
            self.stream.flush()

    # -- the search -----------------------------------------------------------------------------------

    def _collect(self, program: Program) -> None:
        """The state machine's check: keep the program for its example (run with the others by check_all)."""
        self._collected.append(program)

    def _round_test(self, n: int, round_seed: int, first: bool) -> Callable[[], None]:
        phases = (
            [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink] if first else [Phase.generate, Phase.shrink]
        )
        cfg = settings(
            max_examples=n,
            database=self.db,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            stateful_step_count=self.area_def.steps,
            print_blob=False,
        )
        area = self.area_def
        if area.programs is not None:
            strategy = area.programs(self.spec, self.go)

            @seed(round_seed)
            @cfg
            @given(strategy)
            def generated(program: Program) -> None:
                self.check(program)

            return generated
        assert area.machine is not None
        if self._inner is None:
            # Built once per run (Hypothesis's own wrapper would digest the machine's source every round): the
            # undecorated test that runs the machine once on an example's data (the entry point Hypothesis
            # keeps for HypoFuzz); its step budget is the area's, the rest of these settings are unused.
            machine = area.machine(self.spec, self.go, self._collect)
            self._inner = cast(Any, get_state_machine_test(machine, settings=cfg)).hypothesis.inner_test
        inner, k = self._inner, self.per_example

        @seed(round_seed)
        @cfg
        @given(st.data())
        def machines(data: st.DataObject) -> None:
            self._collected = []
            for _ in range(k):
                inner(data)
            self.check_all(self._collected)

        # The example database keys examples by the test's digest: one key per area and example size.
        key = f"rthooks-fuzz:{area.name}:{k}".encode()
        machines.hypothesis.inner_test._hypothesis_internal_add_digest = key  # type: ignore[attr-defined]
        return machines

    def run(self) -> Summary:
        """Search until the budget is spent; shrink, record (and save) each new divergence."""
        self._start = self._last_progress = time.monotonic()
        if self.emit is not None:
            self.emit({"started": {}})  # the parent's clock starts at the first worker's search, as this one does
        base = self.seed if self.seed is not None else int.from_bytes(os.urandom(4), "big")
        if self.seed is None:
            self._say(f"fuzz: seed {base} (rerun with --seed {base})")
        for impl in self.impls:
            impl.prepare([])
        try:
            k = fruitless = 0
            while not self._spent():
                # Whole rounds even near the end of an examples budget: check_all stops at the budget, and a
                # round of one or two examples would mostly repeat programs already run (not run again).
                before = self.searched
                self._failing = []
                size = ROUND if self.per_example == 1 else MULTI_ROUND
                test = self._round_test(size, base * 1_000_003 + k, first=k == 0)
                self._mark = time.monotonic()
                flaky = False
                try:
                    with warnings.catch_warnings():  # Hypothesis's notes on large reprs are not the user's business
                        warnings.simplefilter("ignore", HypothesisWarning)
                        test()
                except _Diverged:
                    pass
                except Flaky:
                    flaky = True
                except Unsatisfiable:
                    pass
                if self._failing:
                    self._record(*self._failing[-1] if not flaky else self._failing[0], flaky=flaky)
                elif self.searched == before and k > 0 and self.examples is not None:
                    fruitless += 1
                    if fruitless >= FRUITLESS_ROUNDS:
                        break  # nothing new is generated any more: the examples budget cannot be reached
                else:
                    fruitless = 0
                k += 1
        finally:
            if self._worker is not None:
                self._worker.shutdown()
                self._worker = None
            for rec in self.recorders:
                self.summary.processes += rec.close()
        self.summary.seconds = time.monotonic() - self._start
        self._share_rest()
        return self.summary

    def _share_rest(self) -> None:
        """What no example accounts for (round set-up, recording a divergence, ending the processes) goes to
        the two classes in proportion to their counts, so the classes add up to the whole run."""
        s = self.summary
        rest = s.seconds - s.batched_seconds - s.alone_seconds
        if s.batched + s.alone and rest > 0:
            s.batched_seconds += rest * s.batched / (s.batched + s.alone)
            s.alone_seconds += rest * s.alone / (s.batched + s.alone)

    def _record(
        self,
        program: Program,
        results: tuple[CaseResult, CaseResult],
        cmp: Comparison,
        *,
        flaky: bool,
    ) -> None:
        self.known.add(cmp.signature)
        if not flaky:
            program, results, cmp = self._drop_steps(program, results, cmp)
        div = Divergence(program, results, cmp, flaky=flaky)
        if self.save_dir is not None:
            div.saved, findings = _save.save(self.save_dir, program, results, self.names, why=div.why(), seed=self.seed)
            self.summary.notes += [f"saved case does not validate: {f}" for f in findings]
        self.summary.divergences.append(div)
        if self.emit is not None:
            self.emit({"divergence": {"id": _save.case_id(div.program), "report": report(div, self.names)}})
        else:
            self._say(report(div, self.names))

    def _drop_steps(
        self, program: Program, results: tuple[CaseResult, CaseResult], cmp: Comparison
    ) -> tuple[Program, tuple[CaseResult, CaseResult], Comparison]:
        """Delete steps one at a time while the same divergence remains. Hypothesis shrinks values well
        but leaves a state machine's leading steps in place (ending a run earlier needs two choices to
        change at once), so the minimal program is finished here."""
        i = 0
        while i < len(program.steps) and len(program.steps) > 1:
            if program.referenced(i):  # a later step needs its value
                i += 1
                continue
            cand = program.without(i)
            items = {str(s.get("call") or s.get("op")) for s in cand.steps}
            if "runtime.memprofilerate" in items:
                items.add("runtime.MemProfileRate")
            own = {c for cs in cand.step_covers.values() for c in cs}
            cand.covers = [
                c
                for c in program.covers
                if c in own or c.startswith(("env:", "godebug:")) or c.partition("#")[0] in items
            ]
            if not cand.covers:
                i += 1
                continue
            got = self.run_program(cand)
            again = compare(cand, got[0], got[1], self.names)
            if again.kind == "diverged" and again.signature == cmp.signature:
                program, results, cmp = cand, got, again
            else:
                i += 1
        return program, results, cmp


def report(div: Divergence, names: tuple[str, str]) -> str:
    """A divergence for the terminal: the program, both observations, why, and where it was saved."""
    p = div.program
    lines = [f"fuzz: divergence {', '.join(sorted(div.comparison.signature))}" + (" (flaky)" if div.flaky else "")]
    if p.env:
        lines.append(f"    env: {p.env}")
    if p.setup:  # the build area's go line, go.mod godebug lines and //go:debug directives
        lines.append(f"    setup: {p.setup}")
    lines += [f"    step {i}: {s}" for i, s in enumerate(p.steps)]
    for name, r in zip(names, div.results, strict=True):
        lines.append(f"    {name}: {summary(r)}")
    lines += [f"    {w}" for w in div.why()[:6]]
    if div.saved:
        lines.append(f"    saved: {div.saved}")
    return "\n".join(printable(line, 2000) for line in lines)
