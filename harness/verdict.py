"""From a raw run to a case status: the rules of PROTOCOL.md's "Statuses" section."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from rthooks import opcatalogue
from rthooks.errors import RthooksError
from rthooks.goversion import GoVersion
from rthooks.harness.cases import Case
from rthooks.harness.matchers import FileChecker, Observed, evaluate
from rthooks.harness.program import Compiled, bind_values
from rthooks.protocol.results import Observation, ObservedRecord, RawRun
from rthooks.protocol.schemas import protocol_validator
from rthooks.protocol.statuses import BAD_ARGUMENTS, Status


@dataclass
class Verdict:
    """A status with its reasons and what was observed."""

    status: Status
    reasons: list[str] = field(default_factory=list)
    observed: ObservedRecord = field(default_factory=dict)
    hello: Observation | None = None


_STATUS_FIELD = {"error": "error", "panic": "panic", "unsupported": "reason"}
_STEP_KEYS = {"step", "status", "value", "error", "panic", "panic_type", "reason", "tries"}


def _well_formed(obs: Observation) -> bool:
    """A fast path for the usual, valid observations; anything else goes to the JSON Schema.

    The schema stays normative: this accepts only shapes it accepts too, and the
    schema is what explains a rejection.
    """
    if "step" in obs:
        status, step = obs.get("status"), obs.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0 or not obs.keys() <= _STEP_KEYS:
            return False
        if status == "ok":
            return True
        need = _STATUS_FIELD.get(status)  # type: ignore[arg-type]
        return need is not None and isinstance(obs.get(need), str)
    if obs.keys() == {"done"}:
        return obs["done"] is True
    if obs.keys() == {"hello"}:  # every run's first line: the schema took 0.8 ms of each program's judging
        hello = obs["hello"]
        return (
            isinstance(hello, dict)
            and isinstance(hello.get("impl"), str)
            and type(hello.get("protocol")) is int
            and hello["protocol"] == 1
            and all(isinstance(hello[k], str) for k in ("version", "goos", "goarch") if k in hello)
        )
    return False


# Implementations the catalogue describes, by the `impl` of their hello (other kinds: no claims).
_CATALOGUE_KIND = {"go-driver": "driver", "rthooks-oracle": "oracle"}


def _case_faults(compiled: Compiled, unsupported: list[Observation]) -> list[str]:
    """Unsupported steps that no implementation could perform: bad arguments, or an op that does not exist."""
    out = []
    cat = opcatalogue.load()
    steps = compiled.program["steps"]
    for r in unsupported:
        step = steps[r["step"]] if r["step"] < len(steps) else {}
        if str(r["reason"]).startswith(BAD_ARGUMENTS):
            out.append(f"step {r['step']}: {r['reason']}")
        elif "op" in step and cat.op(str(step["op"])) is None:
            hint = cat.suggest(str(step["op"]))
            out.append(f"step {r['step']}: unknown op {step['op']!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
    return out


def _skip_reason(compiled: Compiled, r: Observation, hello: Observation | None) -> str:
    """The implementation's reason, with what the catalogue says where it explains the skip."""
    said = f"step {r['step']} unsupported: {r['reason']}"
    step = compiled.program["steps"][r["step"]] if r["step"] < len(compiled.program["steps"]) else {}
    op = opcatalogue.load().op(str(step.get("op"))) if "op" in step else None
    if op is None:
        return said
    kind = _CATALOGUE_KIND.get(str((hello or {}).get("impl")))
    if kind is not None and kind not in op.impls:
        return f"{said} (the op catalogue lists {op.name} for {' and '.join(op.impls)} only)"
    try:
        release = GoVersion.parse(str(compiled.program.get("go")))
    except (RthooksError, ValueError):
        return said
    if not op.exists_in(release):
        return f"{said} (op {op.name} does not exist in go{release})"
    return said


def _judge_build(case: Case, run: RawRun, observed: ObservedRecord) -> Verdict:
    """A build case: only `of: build` expectations, judged on the build's error text (null: it built)."""
    observed["build"] = run.build_error
    if run.build_error is None and run.observations and "build_error" in run.observations[0]:
        observed["build"] = run.build_error = str(run.observations[0]["build_error"])
    facts = Observed(values={}, statuses={}, build=run.build_error)
    reasons = [f"expect[{i}]: {why}" for i, exp in enumerate(case.expect) if (why := evaluate(exp, facts))]
    if run.build_error is None:
        reasons = [r + " (the program built and ran)" for r in reasons]
    return Verdict("fail" if reasons else "pass", reasons, observed)


def judge(
    case: Case, compiled: Compiled, run: RawRun, workdir: Path | None, check_file: FileChecker | None = None
) -> Verdict:
    """Apply the protocol rules, then the case's expectations."""
    observed: ObservedRecord = {
        "exit_status": run.exit_status,
        "signal": run.signal,
        "stdout": run.stdout[-4000:],
        "stderr": run.stderr[-4000:],
    }
    if run.stdout_truncated or run.stderr_truncated:
        observed["truncated"] = [
            n for n, t in (("stdout", run.stdout_truncated), ("stderr", run.stderr_truncated)) if t
        ]
    if run.start_error:
        return Verdict("error", [run.start_error], observed)
    if case.expects_build_failure():
        return _judge_build(case, run, observed)
    if run.build_error is not None:
        observed["build"] = run.build_error  # what the go command said (rthooks fuzz compares it)
        return Verdict("error", [f"the build failed: {run.build_error.strip()[:300]}"], observed)
    problems = list(run.protocol_errors)
    validator = protocol_validator()
    hello = None
    results: dict[int, dict[str, Any]] = {}
    done = False
    nsteps = len(compiled.program["steps"])
    for n, obs in enumerate(run.observations):
        errs = [] if _well_formed(obs) else list(validator.iter_errors(obs))
        if errs:
            problems.append(
                f"observation {n + 1} violates the protocol: {jsonschema.exceptions.best_match(errs).message}"
            )
            continue
        if "hello" in obs:
            if n != 0:
                problems.append("hello is not the first observation")
            hello = obs["hello"]
        elif "done" in obs:
            done = True
        elif "build_error" in obs:
            problems.append(f"the build failed: {str(obs['build_error']).strip()[:300]}")
        else:
            step = obs["step"]
            if step >= nsteps:
                problems.append(f"observation for step {step}, but the program has {nsteps} steps")
            elif step in results:
                problems.append(f"two observations for step {step}")
            elif step != len(results):
                problems.append(f"observation for step {step} arrived out of order")
            else:
                results[step] = obs
    if done and len(results) != nsteps:
        problems.append(f"done after {len(results)} of {nsteps} step observations")
    values, statuses = bind_values(compiled, results)
    observed["steps"] = [results.get(i) for i in range(len(results))]
    if hello is None and not problems and (run.observations or run.exit_status == 0):
        problems.append("no hello observation")
    if run.timed_out:
        return Verdict("timeout", [f"no exit within {case.timeout_s:g}s", *problems], observed, hello)
    if problems:
        unique = list(dict.fromkeys(problems))
        shown = unique[:5] + ([f"(+{len(unique) - 5} more)"] if len(unique) > 5 else [])
        return Verdict("error", shown, observed, hello)
    unsupported = [r for r in results.values() if r["status"] == "unsupported"]
    if unsupported:
        broken = _case_faults(compiled, unsupported)
        if broken:
            return Verdict("error", broken, observed, hello)
        return Verdict("skip", [_skip_reason(compiled, r, hello) for r in unsupported], observed, hello)
    if not done and not case.expects_termination() and run.exit_status == 0 and not run.signal:
        return Verdict("error", [f"exited 0 without done after {len(results)} of {nsteps} steps"], observed, hello)
    if not done and not case.expects_termination():
        how = f"signal {run.signal}" if run.signal else f"exit status {run.exit_status}"
        last = run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else []
        return Verdict(
            "crash", [f"process ended ({how}) after {len(results)} of {nsteps} steps", *last], observed, hello
        )
    facts = Observed(
        values=values,
        statuses=statuses,
        stdout=run.stdout,
        stderr=run.stderr,
        exit_status=run.exit_status,
        signal=run.signal,
        workdir=workdir,
    )
    # "expect[N]: " names the expectation that failed; the CLI turns it into the case file's line
    reasons = [f"expect[{i}]: {why}" for i, exp in enumerate(case.expect) if (why := evaluate(exp, facts, check_file))]
    return Verdict("fail" if reasons else "pass", reasons, observed, hello)


_EXPECT = re.compile(r"^expect\[(\d+)\]: ")


def located(reason: str, case: Case | None) -> str:
    """``expect[N]: why`` as ``line L, expect[N]: why``, L being that expectation's line in the case
    file, so the eye (or an editor) goes straight to the matcher that failed; other reasons as given."""
    m = _EXPECT.match(reason)
    if m is None or case is None:
        return reason
    i = int(m.group(1))
    expect = case.expect
    line = getattr(expect[i], "line", None) if i < len(expect) else None
    return f"line {line}, {reason}" if line else reason
