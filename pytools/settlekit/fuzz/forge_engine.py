"""The forge engine of ``settlekit fuzz``: the project's forge fuzz and invariant suites (Vyper) as subprocesses.

A run builds first (``forge build`` on the run's own out/cache folders, timed apart), then runs every matching test
in one ``forge test --json`` process (forge spreads the suites over its own threads; the tests are listed with
``forge test --list --json`` only when that run reports none). With a time budget or fail-fast it lists the
matching tests and runs one process per test contract instead, ``workers`` at a time, so progress is reported per
suite and the run can stop between suites without losing the results of the suites that finished.

Settings reach forge through its own configuration:

- profile: ``FOUNDRY_PROFILE`` (quick, default, ci, deep: the profiles of foundry.toml);
- seed: ``--fuzz-seed`` (fuzz and invariant campaigns); with no seed, the profile's ``fuzz.seed``, else a random
  one, so every run has a seed it can be replayed with;
- time budget: a deadline for the whole test phase. Each suite gets ``FOUNDRY_FUZZ_TIMEOUT`` = the seconds left
  (forge stops a fuzz campaign at its timeout). ``FOUNDRY_INVARIANT_TIMEOUT`` is not used: in forge 1.7.1 it
  makes an invariant campaign run until the timeout whatever its ``runs``, which would turn a cap into a
  minimum. A suite still running at the deadline (plus one second) is stopped; its tests are reported as
  ``stopped`` and suites not started are listed in ``not_run``;
- corpus: ``FOUNDRY_FUZZ_CORPUS_DIR`` / ``FOUNDRY_INVARIANT_CORPUS_DIR`` (coverage-guided corpus kept between
  runs) under the corpus folder, and forge's failure files there too.

Each failing fuzz or invariant test is saved as a counterexample file (see :mod:`settlekit.fuzz.replay_files`)
holding the seed, the profile, the counterexample and forge's own failure record. :func:`replay_counterexample`
reruns exactly that test with the same seed and profile, after handing forge its failure record back, so forge
first re-executes the recorded calldata or call sequence.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from settlekit.build.forge import build
from settlekit.chain.process import spawn_bound_to_parent, stop_process
from settlekit.exceptions import SettlekitError, UsageError
from settlekit.fuzz.forge_json import ListedSuite, find_results_object, parse_listing, parse_results
from settlekit.fuzz.replay_files import (
    check_forge_document,
    counterexample_document,
    counterexample_filename,
    load_replay_file,
    write_counterexample,
)
from settlekit.fuzz.report import FAIL, STOPPED, ForgeProgress, ForgeReport, TestResult
from settlekit.project import Project
from settlekit.toolchain import Tool, find_tool, tool_environment

__all__ = [
    "PROFILES",
    "ForgeConfig",
    "ForgeProgress",
    "ForgeReport",
    "TestResult",
    "check_profile",
    "replay_counterexample",
    "resolve_seed",
    "run_forge",
]

PROFILES = ("quick", "default", "ci", "deep")
BUILD_TIMEOUT = 1800.0
LIST_TIMEOUT = 300.0
STOP_GRACE = 1.0  # seconds a suite may run past the deadline before it is stopped
MIN_START = 0.5  # a suite is not started with less budget than this left
TICK = 0.05

ProgressCallback = Callable[[ForgeProgress], None]


@dataclass(frozen=True)
class ForgeConfig:
    """What to run and how. ``project_root`` holds foundry.toml, contracts/ and the forge tests.

    ``out_dir`` keeps forge's artifacts (``out_dir/out``), cache (``out_dir/cache``) and counterexamples apart
    from the project's own folders (one per project copy); by default the project's ``out/`` and ``cache/`` are
    used. ``corpus_dir`` keeps forge's corpus and failure records, and receives the counterexample files.
    """

    project_root: Path
    profile: str = "default"
    seed: int | None = None
    time_budget: float | None = None
    corpus_dir: Path | None = None
    match_test: str | None = None
    match_contract: str | None = None
    match_path: str | None = None
    fail_fast: bool = False
    out_dir: Path | None = None
    workers: int = 1


@dataclass
class _Layout:
    """Where one run reads and writes."""

    project: Project
    out: Path
    cache: Path
    lock: Path
    persist: Path
    counterexamples: Path
    corpus: Path | None


@dataclass
class _Job:
    suite: ListedSuite
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    stopped: bool = False


@dataclass
class _State:
    started: float
    results: list[TestResult] = field(default_factory=list)
    done: int = 0
    tests_done: int = 0
    not_run: list[str] = field(default_factory=list)
    budget_exhausted: bool = False
    first_failure: float | None = None


@functools.lru_cache(maxsize=8)
def _forge_version(forge: Tool) -> str:
    return forge.version()


def foundry_profiles(project_root: Path) -> dict[str, Any]:
    """The ``[profile.*]`` tables of foundry.toml (empty when the file cannot be read)."""
    try:
        config = tomllib.loads((project_root / "foundry.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettlekitError(
            f"cannot read {project_root / 'foundry.toml'}: {error}",
            hint="run settlekit fuzz in a project root that has a valid foundry.toml",
        ) from None
    profiles = config.get("profile", {})
    return profiles if isinstance(profiles, dict) else {}


def check_profile(project_root: Path, profile: str) -> None:
    """Raise :class:`UsageError` unless foundry.toml defines ``profile`` (``default`` always exists)."""
    if profile == "default":
        return
    known = foundry_profiles(project_root)
    if profile not in known:
        raise UsageError(
            f"foundry profile {profile!r} is not defined in {project_root / 'foundry.toml'}",
            hint=f"use one of: {', '.join(sorted({'default', *known}))} (settlekit maps quick/ci/deep to them)",
        )


def resolve_seed(project_root: Path, profile: str, seed: int | None) -> int:
    """``seed`` if given; else the profile's ``fuzz.seed`` (falling back to default's); else a random seed."""
    if seed is not None:
        if not 0 <= seed < 2**256:
            raise UsageError(f"seed {seed} is out of range", hint="pass a seed from 0 to 2**256 - 1")
        return seed
    profiles = foundry_profiles(project_root)
    own = profiles.get(profile, {}).get("fuzz")
    if isinstance(own, dict) and own.get("seed") is not None:
        return int(str(own["seed"]), 0)
    # A profile with its own fuzz table but no seed (deep) asks for fresh randomness; one without a fuzz table
    # inherits default's seed, as forge itself does.
    default = profiles.get("default", {}).get("fuzz")
    if (profile == "default" or own is None) and isinstance(default, dict) and default.get("seed") is not None:
        return int(str(default["seed"]), 0)
    return random.SystemRandom().getrandbits(64)


def _layout(config: ForgeConfig) -> _Layout:
    project = Project(config.project_root.resolve())
    if not project.foundry_toml.is_file():
        raise SettlekitError(
            f"{project.root} has no foundry.toml", hint="pass the root of a settlekit project (or a copy of one)"
        )
    if config.out_dir is not None:
        base = config.out_dir.resolve()
        out, cache, lock = base / "out", base / "cache", base / "build.lock"
        counterexamples = base / "counterexamples"
    else:
        out, cache = project.root / "out", project.root / "cache"
        lock = project.root / ".settlekit" / "build.lock"  # the lock `settlekit build` takes
        counterexamples = project.root / ".settlekit" / "fuzz" / "counterexamples"
    corpus = config.corpus_dir.resolve() if config.corpus_dir is not None else None
    persist = cache
    if corpus is not None:
        persist = corpus / "failures"
        counterexamples = corpus / "counterexamples"
    return _Layout(project, out, cache, lock, persist, counterexamples, corpus)


def _forge_argv(forge: Tool, layout: _Layout, *args: str) -> list[str]:
    return [
        str(forge.path),
        *args,
        "--root",
        str(layout.project.root),
        "--out",
        str(layout.out),
        "--cache-path",
        str(layout.cache),
    ]


def _environment(config: ForgeConfig, layout: _Layout, persist: Path) -> dict[str, str]:
    env = tool_environment(layout.project)
    env["FOUNDRY_PROFILE"] = config.profile
    env["FOUNDRY_FUZZ_FAILURE_PERSIST_DIR"] = str(persist / "fuzz")
    env["FOUNDRY_INVARIANT_FAILURE_PERSIST_DIR"] = str(persist / "invariant")
    if layout.corpus is not None:
        env["FOUNDRY_FUZZ_CORPUS_DIR"] = str(layout.corpus / "fuzz")
        env["FOUNDRY_INVARIANT_CORPUS_DIR"] = str(layout.corpus / "invariant")
    env.pop("FOUNDRY_FUZZ_TIMEOUT", None)
    env.pop("FOUNDRY_INVARIANT_TIMEOUT", None)
    return env


def _build(layout: _Layout, env: dict[str, str]) -> float:
    """``forge build`` of contracts and tests into the run's folders (the one build of settlekit.build, with this
    run's out/cache, lock and profile); returns the seconds it took."""
    started = time.monotonic()
    build(
        layout.project,
        tests=True,
        timeout=BUILD_TIMEOUT,
        out_dir=layout.out,
        cache_dir=layout.cache,
        lock_path=layout.lock,
        env=env,
    )
    return time.monotonic() - started


def _filters(config: ForgeConfig) -> list[str]:
    argv: list[str] = []
    if config.match_test:
        argv += ["--match-test", config.match_test]
    if config.match_contract:
        argv += ["--match-contract", config.match_contract]
    if config.match_path:
        argv += ["--match-path", config.match_path]
    return argv


def _list_suites(forge: Tool, config: ForgeConfig, layout: _Layout, env: dict[str, str]) -> list[ListedSuite]:
    completed = subprocess.run(
        [*_forge_argv(forge, layout, "test", "--list", "--json"), *_filters(config)],
        cwd=layout.project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIST_TIMEOUT,
        check=False,
    )
    payload: Any = None
    for line in completed.stdout.splitlines():
        if line.strip().startswith("{"):
            try:
                payload = json.loads(line)
            except ValueError:
                continue
            break
    if completed.returncode != 0 or not isinstance(payload, dict):
        text = (completed.stderr or completed.stdout).strip()
        raise SettlekitError(
            f"forge test --list failed (exit {completed.returncode}): {text[-1500:]}",
            hint="run `forge test --list` in the project to see the problem",
        )
    suites = parse_listing(payload)
    if not suites:
        shown = " ".join(_filters(config)) or "(no filter)"
        raise UsageError(
            f"no forge test matches {shown} in {layout.project.root}",
            hint="check --match-test / --match-contract (regexes) and --match-path (a glob) with `forge test --list`",
        )
    return suites


def _start(
    forge: Tool,
    config: ForgeConfig,
    layout: _Layout,
    env: dict[str, str],
    suite: ListedSuite,
    seed: int,
    remaining: float | None,
    logs: Path,
    index: int,
) -> _Job:
    argv = [
        *_forge_argv(forge, layout, "test", "--json"),
        "--match-path",
        suite.path,
        "--match-contract",
        f"^{re.escape(suite.contract)}$",
        "--fuzz-seed",
        hex(seed),
    ]
    if config.match_test:
        argv += ["--match-test", config.match_test]
    if config.fail_fast:
        argv.append("--fail-fast")
    if config.workers > 1:
        argv += ["--threads", str(max(1, (os.cpu_count() or 1) // config.workers))]
    suite_env = dict(env)
    if remaining is not None:
        suite_env["FOUNDRY_FUZZ_TIMEOUT"] = str(max(1, int(remaining)))
    log = logs / f"{index:04d}.log"
    with log.open("wb") as stream:
        process = spawn_bound_to_parent(argv, log=stream, cwd=layout.project.root, env=suite_env)
    return _Job(suite, process, log, time.monotonic())


def _finish(job: _Job) -> list[TestResult]:
    """The results of a finished (or stopped) suite process."""
    output = job.log.read_text(errors="replace")
    if job.stopped:
        return [
            TestResult(job.suite.key, job.suite.path, job.suite.contract, test, "unknown", STOPPED)
            for test in job.suite.tests
        ]
    payload = find_results_object(output)
    results = parse_results(payload) if payload is not None else []
    if not results and job.process.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        results = [
            TestResult(
                job.suite.key,
                job.suite.path,
                job.suite.contract,
                "(forge)",
                "unit",
                FAIL,
                reason=f"forge test exited with {job.process.returncode} and no results: {tail[-1500:]}",
            )
        ]
    return results


def _progress(state: _State, suites: list[ListedSuite], running: list[_Job]) -> ForgeProgress:
    return ForgeProgress(
        suites_total=len(suites),
        suites_done=state.done,
        tests_total=sum(len(s.tests) for s in suites),
        tests_done=state.tests_done,
        failures=sum(1 for r in state.results if r.failed),
        elapsed=time.monotonic() - state.started,
        running=tuple(job.suite.contract for job in running),
    )


def _run_suites(
    forge: Tool,
    config: ForgeConfig,
    layout: _Layout,
    env: dict[str, str],
    suites: list[ListedSuite],
    seed: int,
    progress: ProgressCallback | None,
) -> _State:
    state = _State(started=time.monotonic())
    deadline = None if config.time_budget is None else state.started + config.time_budget
    pending = deque(suites)
    running: list[_Job] = []
    workers = max(1, config.workers)
    last_report = 0.0
    with tempfile.TemporaryDirectory(prefix="settlekit-forge-") as scratch:
        logs = Path(scratch)
        try:
            while pending or running:
                now = time.monotonic()
                stop_starting = config.fail_fast and state.first_failure is not None
                while pending and len(running) < workers and not stop_starting:
                    remaining = None if deadline is None else deadline - now
                    if remaining is not None and remaining < MIN_START:
                        state.budget_exhausted = True
                        break
                    suite = pending.popleft()
                    running.append(_start(forge, config, layout, env, suite, seed, remaining, logs, state.done))
                    if progress is not None:
                        progress(_progress(state, suites, running))
                for job in list(running):
                    overdue = deadline is not None and now > deadline + STOP_GRACE
                    cut_short = config.fail_fast and state.first_failure is not None
                    if job.process.poll() is None and (overdue or cut_short):
                        stop_process(job.process, grace=2.0)
                        job.stopped = True
                        state.budget_exhausted = state.budget_exhausted or overdue
                    if job.process.poll() is None:
                        continue
                    running.remove(job)
                    results = _finish(job)
                    state.results.extend(results)
                    state.done += 1
                    state.tests_done += len(job.suite.tests)
                    if job.stopped:
                        state.not_run.append(job.suite.key)
                    if state.first_failure is None and any(r.failed for r in results):
                        state.first_failure = time.monotonic() - state.started
                    if progress is not None:
                        progress(_progress(state, suites, running))
                if (state.budget_exhausted or stop_starting) and not running:
                    state.not_run.extend(suite.key for suite in pending)
                    pending.clear()
                if progress is not None and now - last_report >= 0.5:
                    last_report = now
                    progress(_progress(state, suites, running))
                time.sleep(TICK)
        finally:
            for job in running:
                stop_process(job.process, grace=2.0)
    return state


def _run_at_once(
    forge: Tool,
    config: ForgeConfig,
    layout: _Layout,
    env: dict[str, str],
    seed: int,
    progress: ProgressCallback | None,
) -> _State:
    """Every matching suite in one ``forge test --json`` process, which spreads them over its own threads.

    forge loads the project once instead of once per suite (one process per suite spent most of a quick run on
    start-up), but reports only at the end: progress shows the elapsed time until then (totals unknown: 0). No
    listing runs beside it (a second forge process would take a core from the tests on a small machine); the
    suites and tests are counted from the results, and the listing runs only when there are none, to tell "no test
    matches the filter" apart from a forge failure.
    """
    state = _State(started=time.monotonic())
    argv = [*_forge_argv(forge, layout, "test", "--json"), "--fuzz-seed", hex(seed), *_filters(config)]
    everything = ListedSuite("", "all suites", ())
    with tempfile.TemporaryDirectory(prefix="settlekit-forge-") as scratch:
        log = Path(scratch) / "forge.log"
        with log.open("wb") as stream:
            process = spawn_bound_to_parent(argv, log=stream, cwd=layout.project.root, env=env)
        job = _Job(everything, process, log, state.started)
        try:
            last_report = 0.0
            while process.poll() is None:
                now = time.monotonic()
                if progress is not None and now - last_report >= 0.5:
                    last_report = now
                    progress(_progress(state, [], [job]))
                time.sleep(TICK)
        finally:
            if process.poll() is None:
                stop_process(process, grace=2.0)
        output = log.read_text(errors="replace")
        if find_results_object(output) is None:
            _list_suites(forge, config, layout, env)  # raises UsageError when no test matches the filters
        state.results = _finish(job)
    suites = sorted({(r.path, r.contract) for r in state.results if r.test != "(forge)"})
    state.done = len(suites)
    state.tests_done = len(state.results)
    if any(r.failed for r in state.results):
        state.first_failure = time.monotonic() - state.started  # known only when the one process ends
    if progress is not None:
        progress(
            ForgeProgress(
                suites_total=state.done,
                suites_done=state.done,
                tests_total=state.tests_done,
                tests_done=state.tests_done,
                failures=sum(1 for r in state.results if r.failed),
                elapsed=time.monotonic() - state.started,
            )
        )
    return state


def _forge_failure_record(layout_persist: Path, result: TestResult) -> Any:
    """forge's own failure record of ``result`` (``<persist>/<kind>/failures/<Contract>/<test>``), if any."""
    record = layout_persist / result.kind / "failures" / result.contract / result.name
    try:
        return json.loads(record.read_text())
    except (OSError, ValueError):
        return None


def _save_counterexamples(config: ForgeConfig, layout: _Layout, report: ForgeReport) -> None:
    settings = {
        "time_budget": config.time_budget,
        "match_test": config.match_test,
        "match_contract": config.match_contract,
        "match_path": config.match_path,
        "corpus_dir": None if layout.corpus is None else str(layout.corpus),
    }
    for result in report.failures:
        if result.counterexample is None:
            continue
        document = counterexample_document(
            result, seed=report.seed, profile=report.profile, forge_version=report.forge_version, settings=settings
        )
        document["forge_failure_record"] = _forge_failure_record(layout.persist, result)
        report.counterexample_paths.append(
            write_counterexample(layout.counterexamples, document, counterexample_filename(result, report.seed))
        )


def _execute(
    config: ForgeConfig, progress: ProgressCallback | None, *, persist: Path | None, save: bool
) -> ForgeReport:
    if config.time_budget is not None and config.time_budget <= 0:
        raise UsageError(f"time budget {config.time_budget:g}s is not positive", hint="pass a budget > 0 seconds")
    layout = _layout(config)
    check_profile(layout.project.root, config.profile)
    seed = resolve_seed(layout.project.root, config.profile, config.seed)
    forge = find_tool("forge", layout.project)
    find_tool("vyper", layout.project)
    env = _environment(config, layout, persist if persist is not None else layout.persist)
    report = ForgeReport(profile=config.profile, seed=seed, forge_version=_forge_version(forge))
    report.time_budget = config.time_budget
    report.build_elapsed = _build(layout, env)
    # A time budget or fail-fast needs suites it can stop or skip one by one; otherwise one process runs them all.
    if config.time_budget is not None or config.fail_fast:
        state = _run_suites(forge, config, layout, env, _list_suites(forge, config, layout, env), seed, progress)
    else:
        state = _run_at_once(forge, config, layout, env, seed, progress)
    report.elapsed = time.monotonic() - state.started
    report.results = state.results
    report.not_run = state.not_run
    report.budget_exhausted = state.budget_exhausted
    report.time_to_first_failure = state.first_failure
    if save:
        _save_counterexamples(config, layout, report)
    return report


def run_forge(config: ForgeConfig, progress: ProgressCallback | None = None) -> ForgeReport:
    """Build, then run the matching forge tests; save a counterexample file per failing fuzz/invariant test.

    Raises :class:`CompileError` when the contracts or tests do not compile, :class:`UsageError` for a bad
    profile, budget or filter that matches nothing. Test failures are not exceptions: see ``report.ok``.
    """
    return _execute(config, progress, persist=None, save=True)


def replay_counterexample(
    project_root: Path,
    path: Path,
    *,
    out_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> ForgeReport:
    """Rerun exactly the test of counterexample file ``path``, with its seed and profile.

    forge gets its failure record back first (in a fresh folder), so it re-executes the recorded calldata or
    call sequence before fuzzing on from the seed. ``report.ok`` is False when the test still fails.
    """
    document = load_replay_file(path)
    if document["engine"] != "forge":
        raise UsageError(
            f"{path} is a {document['engine']} replay file, not a forge counterexample",
            hint="replay it with `settlekit fuzz --replay FILE`, which picks the engine from the file",
        )
    seed = check_forge_document(path, document)
    name = str(document["test"]).split("(", 1)[0]
    config = ForgeConfig(
        project_root=project_root,
        profile=str(document["profile"]),
        seed=seed,
        match_path=str(document["path"]),
        match_contract=f"^{re.escape(str(document['contract']))}$",
        match_test=f"^{re.escape(name)}\\(",
        out_dir=out_dir,
    )
    with tempfile.TemporaryDirectory(prefix="settlekit-replay-") as scratch:
        persist = Path(scratch)
        record = document.get("forge_failure_record")
        kind = str(document.get("kind", ""))
        if isinstance(record, dict) and kind in ("fuzz", "invariant"):
            target = persist / kind / "failures" / str(document["contract"]) / name
            target.parent.mkdir(parents=True)
            target.write_text(json.dumps(record))
        try:
            report = _execute(config, progress, persist=persist, save=False)
        except UsageError as error:
            if "no forge test matches" not in error.message:
                raise
            raise SettlekitError(
                f"{document['contract']}.{name} (in {document['path']}) is no longer in {project_root}",
                hint="the test was renamed or removed; the counterexample cannot be replayed against this project",
            ) from None
        finally:
            shutil.rmtree(persist, ignore_errors=True)
    report.replayed_from = path
    return report
