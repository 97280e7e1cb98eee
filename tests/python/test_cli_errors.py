"""The CLI's error boundary: bad inputs to every command, each run as a real `settlekit` process.

Every case asserts the exit code, exactly one ``error:`` line followed by one ``fix:`` line at the end of stderr, no
"Traceback" anywhere, the expected words in the error, and that nothing was half-written: no temporary files left,
every journal line a whole record, and the files a case names unchanged (or never created).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from settlekit.chain.ports import free_port

from support import REPO, cli_env, run_cli

ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MANIFEST = {
    "chain_id": 31337,
    "deployment": "safety",
    "contracts": {"harness": {"artifact": "SafetyHarness", "address": ADDRESS}},
}


# --- servers that misbehave -------------------------------------------------------------------------------------


class _Html(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class Nodes:
    closed: str  # nothing listens
    html: str  # answers every request with an HTML page
    black_hole: str  # accepts connections, never answers


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    html = HTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        hole.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(hole.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield Nodes(
        f"http://127.0.0.1:{free_port()}",
        f"http://127.0.0.1:{html.server_port}",
        f"http://127.0.0.1:{hole.getsockname()[1]}",
    )
    stop.set()
    html.shutdown()
    for connection in held:
        connection.close()
    hole.close()


# --- the cases --------------------------------------------------------------------------------------------------


@dataclass
class World:
    """What a case can refer to: the temporary folder, the misbehaving nodes, a real Anvil, a real PostgreSQL."""

    tmp: Path
    nodes: Nodes
    anvil_url: Callable[[], str]
    postgres_url: Callable[[], str]

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def project(self, toml: str | None = None) -> Path:
        """A project folder whose settlekit.toml is ``toml`` (artifacts and contracts borrowed from the repo)."""
        root = self.tmp / "project"
        root.mkdir(exist_ok=True)
        (root / "foundry.toml").write_text((REPO / "foundry.toml").read_text())
        for name in ("contracts", "out"):
            if not (root / name).exists():
                (root / name).symlink_to(REPO / name)
        if toml is not None:
            (root / "settlekit.toml").write_text(toml)
        return root


@dataclass
class Case:
    id: str
    args: Callable[[World], list[str]]
    exit_code: int
    says: str  # words the error line must hold
    env: Callable[[World], dict[str, str]] = lambda _w: {}
    untouched: Callable[[World], list[Path]] = lambda _w: []  # files the case must not create or change
    max_seconds: float | None = None
    anvil: bool = False
    postgres: bool = False
    marks: list[pytest.MarkDecorator] = field(default_factory=list)


def _plan(world: World, name: str, body: str) -> str:
    return str(world.write(name, body))


BASE_PLAN = (REPO / "settlekit.toml").read_text()


def _bad_toml(old: str, new: str) -> str:
    assert old in BASE_PLAN, old
    return BASE_PLAN.replace(old, new, 1)


def _toml_case(ident: str, old: str, new: str, says: str, command: str = "deploy", exit_code: int = 2) -> Case:
    """settlekit.toml with one wrong value, through the command that reads that section."""
    if command == "watch":
        return Case(
            ident,
            lambda w: [
                "watch",
                "--manifest",
                str(w.write("m.json", json.dumps(MANIFEST))),
                "--rpc-url",
                w.nodes.closed,
                "--once",
                "--store",
                f"sqlite:///{w.tmp / 'w.db'}",
            ],
            exit_code,
            says,
            env=lambda w: {"SETTLEKIT_PROJECT": str(w.project(_bad_toml(old, new)))},
            untouched=lambda w: [w.tmp / "w.db"],
        )
    return Case(
        ident,
        lambda w: [
            command,
            "safety",
            "--plan",
            _plan(w, "plan.toml", _bad_toml(old, new)),
            "--rpc-url",
            w.nodes.closed,
            "--deployments-dir",
            str(w.tmp / "dd"),
        ],
        exit_code,
        says,
        untouched=lambda w: [w.tmp / "dd"],
    )


REVERT_PLAN = """
[networks.local]
chain_id = 31337
local = true
confirmations = 0
[[deployments.bad.steps]]
id = "factory"
artifact = "SeriesFactory"
args = ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002"]
"""


def _store(world: World, *rest: str, command: str = "events") -> list[str]:
    return [command, "--store", *rest]


def _journal_case(ident: str, line: str) -> Case:
    def args(w: World) -> list[str]:
        journal = w.tmp / "dd" / "31337" / "safety.journal.jsonl"
        journal.parent.mkdir(parents=True, exist_ok=True)
        header = {"kind": "header", "chain_id": 31337, "deployment": "safety"}
        journal.write_text(json.dumps(header) + "\n" + line)
        return ["deploy", "safety", "--resume", "--rpc-url", w.anvil_url(), "--deployments-dir", str(w.tmp / "dd")]

    return Case(
        ident,
        args,
        1,
        "line 2 is not a journal record",
        untouched=lambda w: [w.tmp / "dd" / "31337" / "safety.journal.jsonl", w.tmp / "dd" / "31337" / "safety.json"],
        anvil=True,
    )


def _watch(world: World, url: str, *extra: str) -> list[str]:
    manifest = world.write("m.json", json.dumps(MANIFEST))
    return [
        "watch",
        "--manifest",
        str(manifest),
        "--rpc-url",
        url,
        "--once",
        "--store",
        f"sqlite:///{world.tmp}/w.db",
        *extra,
    ]


CASES: list[Case] = [
    # the command line itself
    Case("unknown-command", lambda _w: ["nosuch"], 2, "No such command"),
    Case("unknown-option", lambda _w: ["deploy", "--bogus"], 2, "No such option"),
    Case("missing-argument", lambda _w: ["deploy"], 2, "Missing argument"),
    Case("bad-port", lambda _w: ["chain", "up", "--port", "70000"], 2, "not a TCP port"),
    Case("not-an-integer", lambda _w: ["events", "--from-block", "x"], 2, "--from-block"),
    Case("ack-and-resolve", lambda _w: ["incidents", "--ack", "1", "--resolve", "1"], 2, "--ack and --resolve"),
    Case("bad-revert-hex", lambda _w: ["errors", "decode", "zz"], 2, "not hex revert data"),
    Case("bad-seed", lambda _w: ["fuzz", "--seed", "abc"], 2, "not an integer"),
    # the project
    Case(
        "no-project",
        lambda _w: ["errors", "catalogue"],
        1,
        "no foundry.toml",
        env=lambda w: {"SETTLEKIT_PROJECT": str(w.tmp / "nowhere")},
    ),
    Case(
        "no-project-deploy",
        lambda _w: ["deploy", "safety"],
        1,
        "no foundry.toml",
        env=lambda w: {"SETTLEKIT_PROJECT": str(w.tmp)},
    ),
    # RPC: unreachable, HTML, black hole, bad URLs, bad timeout (verify asks the node before building)
    Case("verify-unreachable", lambda w: ["verify", "safety", "--rpc-url", w.nodes.closed], 1, "cannot connect"),
    Case("verify-html", lambda w: ["verify", "safety", "--rpc-url", w.nodes.html], 1, "not JSON-RPC"),
    Case(
        "verify-black-hole",
        lambda w: ["verify", "safety", "--rpc-url", w.nodes.black_hole],
        1,
        "did not answer within 1 s",
        env=lambda _w: {"SETTLEKIT_RPC_TIMEOUT": "1"},
        max_seconds=45,
    ),
    Case("verify-ftp-url", lambda _w: ["verify", "safety", "--rpc-url", "ftp://node.example"], 2, "not an http"),
    Case("verify-no-scheme", lambda _w: ["verify", "safety", "--rpc-url", "localhost:8545"], 2, "not an http"),
    Case("verify-no-host", lambda _w: ["verify", "safety", "--rpc-url", "http://"], 2, "not an http"),
    Case(
        "verify-bad-timeout",
        lambda w: ["verify", "safety", "--rpc-url", w.nodes.closed],
        2,
        "SETTLEKIT_RPC_TIMEOUT",
        env=lambda _w: {"SETTLEKIT_RPC_TIMEOUT": "soon"},
    ),
    Case(
        "verify-secret-url",
        lambda w: ["verify", "safety", "--rpc-url", w.nodes.closed + "/v3/SECRETKEY123"],
        1,
        "cannot connect",
    ),
    Case(
        "deploy-unreachable",
        lambda w: ["deploy", "safety", "--rpc-url", w.nodes.closed, "--deployments-dir", str(w.tmp / "dd")],
        1,
        "cannot connect",
        untouched=lambda w: [w.tmp / "dd"],
    ),
    Case(
        "deploy-html",
        lambda w: ["deploy", "safety", "--rpc-url", w.nodes.html, "--deployments-dir", str(w.tmp / "dd")],
        1,
        "not JSON-RPC",
        untouched=lambda w: [w.tmp / "dd"],
    ),
    Case(
        "deploy-black-hole",
        lambda w: ["deploy", "safety", "--rpc-url", w.nodes.black_hole, "--deployments-dir", str(w.tmp / "dd")],
        1,
        "did not answer within 2 s",
        env=lambda _w: {"SETTLEKIT_RPC_TIMEOUT": "2"},
        untouched=lambda w: [w.tmp / "dd"],
        max_seconds=60,
    ),
    Case(
        "deploy-bad-scheme",
        lambda w: ["deploy", "safety", "--rpc-url", "ws://127.0.0.1:8545", "--deployments-dir", str(w.tmp / "dd")],
        2,
        "not an http",
        untouched=lambda w: [w.tmp / "dd"],
    ),
    Case(
        "dry-run-unreachable",
        lambda w: ["deploy", "safety", "--dry-run", "--rpc-url", w.nodes.closed],
        1,
        "cannot connect",
    ),
    Case("watch-unreachable", lambda w: _watch(w, w.nodes.closed), 1, "failed"),
    Case("watch-html", lambda w: _watch(w, w.nodes.html), 1, "non-JSON body"),
    Case(
        "watch-black-hole",
        lambda w: _watch(w, w.nodes.black_hole, "--rpc-timeout", "1"),
        1,
        "no answer within 1 s",
        max_seconds=45,
    ),
    Case(
        "watch-bad-scheme",
        lambda w: _watch(w, "file:///etc/passwd"),
        2,
        "not an http",
        untouched=lambda w: [w.tmp / "w.db"],
    ),
    # transactions on a real chain
    Case(
        "insufficient-funds",
        lambda w: [
            "deploy",
            "safety",
            "--rpc-url",
            w.anvil_url(),
            "--private-key-env",
            "EMPTY_KEY",
            "--deployments-dir",
            str(w.tmp / "dd"),
        ],
        1,
        "cannot pay",
        env=lambda _w: {"EMPTY_KEY": "0x" + hashlib.sha256(b"settlekit errors test").hexdigest()},
        untouched=lambda w: [w.tmp / "dd" / "31337" / "safety.json"],
        anvil=True,
    ),
    Case(
        "constructor-revert",
        lambda w: [
            "deploy",
            "bad",
            "--plan",
            _plan(w, "revert.toml", REVERT_PLAN),
            "--rpc-url",
            w.anvil_url(),
            "--deployments-dir",
            str(w.tmp / "dd"),
        ],
        1,
        "would revert: series_factory: blueprint has no code",
        untouched=lambda w: [w.tmp / "dd" / "31337" / "bad.json"],
        anvil=True,
    ),
    # the journal
    _journal_case("journal-garbage-line", "this is not json\n"),
    _journal_case("journal-truncated-line", '{"kind": "signed", "step": "collat'),
    _journal_case("journal-not-a-record", "[1, 2, 3]\n"),
    _journal_case("journal-record-without-kind", '{"step": "collateral"}\n'),
    # manifests
    Case(
        "manifest-package-json",
        lambda w: ["watch", "--manifest", str(REPO / "package.json"), "--rpc-url", w.nodes.closed, "--once"],
        1,
        "not a settlekit manifest",
    ),
    Case(
        "manifest-toml",
        lambda w: ["watch", "--manifest", str(REPO / "settlekit.toml"), "--rpc-url", w.nodes.closed, "--once"],
        1,
        "not valid JSON",
    ),
    Case(
        "manifest-missing",
        lambda w: ["watch", "--manifest", str(w.tmp / "none.json"), "--rpc-url", w.nodes.closed, "--once"],
        1,
        "no manifest",
    ),
    Case(
        "manifest-directory",
        lambda w: ["watch", "--manifest", str(w.tmp), "--rpc-url", w.nodes.closed, "--once"],
        1,
        "cannot read the manifest",
    ),
    Case(
        "manifest-contracts-list",
        lambda w: [
            "watch",
            "--manifest",
            str(w.write("list.json", json.dumps({"chain_id": 1, "contracts": [ADDRESS]}))),
            "--rpc-url",
            w.nodes.closed,
            "--once",
        ],
        1,
        "not a settlekit manifest",
    ),
    Case(
        "verify-foreign-manifest",
        lambda w: [
            "verify",
            "safety",
            "--rpc-url",
            w.anvil_url(),
            "--deployments-dir",
            str(w.write("dd/31337/safety.json", '{"name": "left-pad", "version": "1.0.0"}').parents[1]),
        ],
        1,
        "not a settlekit manifest",
        anvil=True,
    ),
    # stores
    Case("store-not-a-url", lambda w: _store(w, "nonsense"), 1, "not a database URL"),
    Case("store-mysql", lambda w: _store(w, "mysql://u@127.0.0.1/db"), 1, "neither SQLite nor PostgreSQL"),
    Case(
        "events-missing-file",
        lambda w: _store(w, f"sqlite:///{w.tmp / 'absent.db'}"),
        1,
        "no watch store",
        untouched=lambda w: [w.tmp / "absent.db"],
    ),
    Case(
        "events-missing-folder",
        lambda w: _store(w, f"sqlite:///{w.tmp / 'nodir' / 'watch.db'}"),
        1,
        "no watch store",
        untouched=lambda w: [w.tmp / "nodir"],
    ),
    Case(
        "incidents-missing-file",
        lambda w: _store(w, f"sqlite:///{w.tmp / 'absent.db'}", command="incidents"),
        1,
        "no watch store",
        untouched=lambda w: [w.tmp / "absent.db"],
    ),
    Case(
        "incidents-ack-missing-file",
        lambda w: [*_store(w, f"sqlite:///{w.tmp / 'absent.db'}", command="incidents"), "--ack", "3"],
        1,
        "no watch store",
        untouched=lambda w: [w.tmp / "absent.db"],
    ),
    Case(
        "events-env-store-missing",
        lambda _w: ["events"],
        1,
        "no watch store",
        env=lambda w: {"SETTLEKIT_STORE": f"sqlite:///{w.tmp / 'env.db'}"},
        untouched=lambda w: [w.tmp / "env.db"],
    ),
    Case(
        "events-default-store-missing",
        lambda _w: ["events"],
        1,
        "no watch store",
        env=lambda w: {"SETTLEKIT_PROJECT": str(w.project())},
        untouched=lambda w: [w.tmp / "project" / ".settlekit"],
    ),
    Case(
        "events-not-sqlite",
        lambda w: _store(w, f"sqlite:///{w.write('garbage.db', 'not a database at all' * 100)}"),
        1,
        "not a SQLite database",
        untouched=lambda w: [w.tmp / "garbage.db"],
    ),
    Case(
        "events-foreign-sqlite",
        lambda w: _store(w, f"sqlite:///{_foreign_sqlite(w.tmp / 'other.db')}"),
        1,
        "not a settlekit watch store",
        untouched=lambda w: [w.tmp / "other.db"],
    ),
    Case(
        "watch-store-missing-folder",
        lambda w: [*_watch(w, w.nodes.closed)[:-2], "--store", f"sqlite:///{w.tmp / 'nodir' / 'w.db'}"],
        1,
        "does not exist",
        untouched=lambda w: [w.tmp / "nodir"],
    ),
    Case(
        "events-postgres-down",
        lambda _w: _store(_w, f"postgresql+psycopg://settlekit:hunter2@127.0.0.1:{free_port()}/watch"),
        1,
        "PostgreSQL at",
    ),
    Case(
        "incidents-postgres-down",
        lambda _w: _store(_w, f"postgresql://settlekit@127.0.0.1:{free_port()}/watch", command="incidents"),
        1,
        "not reachable",
    ),
    Case(
        "watch-postgres-down",
        lambda w: [*_watch(w, w.nodes.closed)[:-2], "--store", f"postgresql://u@127.0.0.1:{free_port()}/watch"],
        1,
        "not reachable",
    ),
    Case(
        "events-postgres-no-database",
        lambda w: _store(w, w.postgres_url().rsplit("/", 1)[0] + "/no_such_database"),
        1,
        "does not exist",
        postgres=True,
    ),
    Case(
        "incidents-postgres-empty-database",
        lambda w: _store(w, _empty_database(w.postgres_url()), command="incidents"),
        1,
        "not a settlekit watch store",
        postgres=True,
    ),
    # settlekit.toml: wrong types, reported with the key path
    _toml_case(
        "toml-chain-id", "chain_id = 31337", 'chain_id = "abc"', 'networks.local.chain_id: expected integer, got "abc"'
    ),
    _toml_case(
        "toml-confirmations",
        "confirmations = 0",
        'confirmations = "none"',
        "networks.local.confirmations: expected integer",
        "verify",
    ),
    _toml_case("toml-rpc-scheme", 'rpc_url = "http://127.0.0.1:8545"', 'rpc_url = "ftp://x"', "networks.local.rpc_url"),
    _toml_case("toml-local", "local = true", 'local = "yes"', "networks.local.local: expected true or false"),
    _toml_case(
        "toml-roles",
        'roles = { guardian = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }',
        "roles = 5",
        "networks.local.roles: expected table, got 5",
    ),
    _toml_case(
        "toml-step-args",
        'args = ["Demo USD", "dUSD", 6]',
        'args = "Demo USD"',
        "deployments.safety.steps[0].args: expected array",
    ),
    _toml_case("toml-step-mock", "mock = true", 'mock = "yes"', "deployments.safety.steps[0].mock"),
    _toml_case("toml-step-id", 'id = "collateral"', "id = 7", "deployments.safety.steps[0].id: expected string, got 7"),
    _toml_case("toml-syntax", "[networks.local]", "[networks.local", "not valid TOML", exit_code=1),
    _toml_case(
        "toml-window",
        "window_blocks = 50",
        'window_blocks = "fifty"',
        'watch.rules[4].window_blocks: expected integer, got "fifty"',
        "watch",
    ),
    _toml_case("toml-rule-kind", 'kind = "event"', 'kind = "evnt"', "watch.rules[0].kind: expected one of", "watch"),
    _toml_case("toml-severity", 'severity = "critical"', 'severity = "urgent"', "watch.rules[0].severity", "watch"),
    _toml_case("toml-reorg", "warning_depth = 1", 'warning_depth = "1"', "watch.reorg.warning_depth", "watch"),
    _toml_case(
        "toml-metrics-port", "port = 9464", "port = 99999", "watch.metrics.port: expected a number <= 65535", "watch"
    ),
    _toml_case("toml-guardian-level", "level = 1 ", "level = true ", "watch.guardian.level: expected integer", "watch"),
    _toml_case("toml-guardian-key", "dry_run = false", "dry_rn = false", "watch.guardian.dry_rn: unknown key", "watch"),
]


def _foreign_sqlite(path: Path) -> Path:
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    return path


def _empty_database(server_url: str) -> str:
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return server_url.rsplit("/", 1)[0] + "/" + name


def _snapshot(paths: list[Path]) -> dict[Path, str | None]:
    def state(path: Path) -> str | None:
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()
        if path.is_dir():
            return "dir:" + ",".join(sorted(str(p.relative_to(path)) for p in path.rglob("*")))
        return None

    return {path: state(path) for path in paths}


def _nothing_half_written(root: Path, corrupted: list[Path]) -> None:
    leftovers = list(root.rglob("*.tmp"))
    assert not leftovers, f"temporary files left: {leftovers}"
    for journal in root.rglob("*.journal.jsonl"):
        if journal in corrupted:
            continue
        for line in journal.read_text().splitlines():
            if line.strip():
                json.loads(line)  # journals the case did not corrupt on purpose hold whole records only


def _check(result_stdout: str, result_stderr: str, case: Case) -> None:
    assert "Traceback" not in result_stdout + result_stderr, result_stderr
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert sum(line.startswith("error:") for line in lines) == 1, result_stderr
    assert sum(line.startswith("fix:") for line in lines) == 1, result_stderr
    assert lines[-2].startswith("error:"), result_stderr
    assert lines[-1].startswith("fix:"), result_stderr
    assert len(lines[-1]) > len("fix: "), result_stderr
    assert case.says in lines[-2], result_stderr


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        marks = list(case.marks)
        if case.anvil:
            marks.append(pytest.mark.anvil)
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.fixture
def world(tmp_path: Path, nodes: Nodes, request: pytest.FixtureRequest) -> World:
    return World(
        tmp_path,
        nodes,
        lambda: request.getfixturevalue("anvil").url,
        lambda: request.getfixturevalue("postgres_url"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", _params())
def test_bad_input_gives_one_error_and_one_fix(case: Case, world: World) -> None:
    args = case.args(world)
    watched = case.untouched(world)
    before = _snapshot(watched)
    started = time.monotonic()
    result = run_cli(*args, env=cli_env(**case.env(world)), timeout=180)
    elapsed = time.monotonic() - started
    assert result.returncode == case.exit_code, (result.returncode, result.stderr)
    _check(result.stdout, result.stderr, case)
    assert "SECRETKEY123" not in result.stdout + result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    if case.max_seconds is not None:
        assert elapsed < case.max_seconds, f"took {elapsed:.1f}s"
    assert _snapshot(watched) == before
    _nothing_half_written(world.tmp, watched)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("store-not-a-url", "verify-ftp-url", "toml-chain-id")])
def test_json_errors_are_one_object_on_stdout(case: Case, world: World) -> None:
    result = run_cli(*case.args(world), "--json", env=cli_env(**case.env(world)), timeout=180)
    assert result.returncode == case.exit_code
    _check(result.stdout, result.stderr, case)
    error = json.loads(result.stdout)
    assert case.says in error["message"]
    assert error["fix"] == error["hint"]
    assert error["fix"]
    assert error["exit_code"] == case.exit_code


def test_the_matrix_has_at_least_fifty_bad_inputs() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)
