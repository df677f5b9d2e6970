"""Cold start as a user feels it: each function's import plus its first invocation, in a fresh
interpreter with Lambda's environment (tracing and metrics on, as template.yaml deploys them), its
sample event taking the success path against the local AWS emulation with seeded data.

The floor is what any Python function talking to DynamoDB pays: a fresh interpreter doing
``import boto3`` + a DynamoDB client + one GetItem against the same emulation. Runs alternate (floor,
function, floor, function, ...) so machine noise hits both alike; the ratio is of medians.

Also, per function: warm p50 / p99 over BENCH_WARM_RUNS (1,000) invocations with the network
stubbed (replaying the responses of a real first invocation; botocore still builds, signs and parses
every call), peak RSS, and the SnapStart figure: the first invocation after the before-snapshot and
after-restore hooks ran (as the runtime runs them), median of BENCH_PRIMED_RUNS (3) fresh
interpreters, as a ratio to the warm p50 (the after-restore hooks' own time is shown beside it), and the
function calls (Python and C) that first invocation makes against a warm one's, counted in one more
restored interpreter: the work it still does that a warm invocation does not, whatever the caches.

Secrets: deployed with the template's SecretsExtensionLayerArn, the functions read secrets from the
AWS Parameters and Secrets Lambda extension on loopback; the bench runs a stand-in for it (the same
HTTP API, answering from the emulation's Secrets Manager). BENCH_SECRETS=client measures the fallback
instead (no extension: a Secrets Manager client in the function).

Environment knobs: BENCH_RUNS (cold runs per function, default 7), BENCH_WARM_RUNS (1000),
BENCH_FUNCTIONS (comma-separated logical ids; default all), BENCH_AWS_PORT (default: a free port),
BENCH_SECRETS (extension | client), BENCH_PROFILE_FIRST (a path prefix: cProfile of each mode's first
invocation), BENCH_PYTHONPATH (directories the function's interpreter imports from before its own packages:
an A/B of a library's version without installing it), BENCH_IMPORTTIME (a directory: ``python -X importtime`` of every cold and floor run, whose
times it inflates: for finding costs, not for the figures).
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cfn import LAYER_DIR, ROOT, Template
from local.emulation import CREDENTIALS, client, create_resources, function_environment, start_moto
from tests.secrets_extension import SecretsExtension

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
WARM_RUNS = int(os.environ.get("BENCH_WARM_RUNS", "1000"))
SECRETS = os.environ.get("BENCH_SECRETS", "extension")
PRIMED_RUNS = int(os.environ.get("BENCH_PRIMED_RUNS", "3"))
IMPORTTIME = os.environ.get("BENCH_IMPORTTIME", "")  # a directory: `-X importtime` of the cold and floor runs (their times inflated)
CHILD = Path(__file__).with_name("lambda_child.py")
OUTPUT = ROOT / "test-output"
# what Lambda's environment has that the local runner's does not (the X-Ray SDK and Powertools
# decide from these whether they run in Lambda)
LAMBDA_ENV = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
}
# the local runner turns these off; deployed functions have them on
LOCAL_ONLY = ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_DISABLED")
SESSION_TOKEN = "bench-session-token"  # Lambda gives every function one; the extension checks it
# A deployment's HS256 secret is at least 32 bytes (RFC 7518 section 3.2; pyjwt warns below that, a log
# line and a few ms on each container's first check): the bench's is 48, and the sample events' tokens are
# signed again with it.
JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789abcde"  # 48 bytes
_BEARER = re.compile(r"Bearer ([\w-]+\.[\w-]+\.[\w-]+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _resign(match: re.Match[str]) -> str:
    import jwt

    claims = jwt.decode(match.group(1), options={"verify_signature": False})
    return "Bearer " + jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def event_file(name: str) -> Path:
    """CreateStreamFunction → events/create_stream.json"""
    return ROOT / "events" / (re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Function")).lower() + ".json")


@dataclass
class Figures:
    name: str
    imports: list[float] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    warm: dict[str, Any] = field(default_factory=dict)
    primed: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return statistics.median(self.totals) / statistics.median(self.floors)

    @property
    def primed_ratio(self) -> float:
        return self.primed["first"] / self.warm["p50"]

    @property
    def calls_ratio(self) -> float:
        return self.primed["calls_first"] / self.primed["calls_warm"]


class Bench:
    def __init__(self, port: int) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.template = Template.load(Stage="local")
        self.names = create_resources(self.template, self.endpoint)
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        # the layer, imported here to seed, talks to the emulation
        for fn in self.template.functions():
            os.environ.update(function_environment(self.template, fn, self.endpoint, "http://127.0.0.1:1"))
        os.environ.update(CREDENTIALS, AWS_ENDPOINT_URL=self.endpoint)
        # this process is no Lambda init: imported with it, the layer would pause the collector for good
        os.environ.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
        sys.path.insert(0, str(LAYER_DIR))
        from tests.bench.seed import Seeder

        self.seeder = Seeder()
        sm = client("secretsmanager", self.endpoint)
        self.extension = SecretsExtension.of_secrets_manager(sm, SESSION_TOKEN) if SECRETS == "extension" else None

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for knob in ("BENCH_PROFILE_FIRST", "BENCH_PYTHONPATH"):  # see the module's docstring
            if os.environ.get(knob):
                env[knob] = os.environ[knob]
        env.update(function_environment(self.template, name, self.endpoint, "http://127.0.0.1:1"))
        for key in LOCAL_ONLY:
            env.pop(key, None)
        # segments go to a loopback UDP port nobody reads (the daemon's part is not ours to time)
        env.update(LAMBDA_ENV, AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{self.port}", AWS_SESSION_TOKEN=SESSION_TOKEN, **extra)
        if self.extension is not None:
            env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(self.extension.port)
        else:  # nothing listens there: the function finds the extension absent
            env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(_free_port())
        return env

    def child(self, name: str, mode: str, *args: str, **extra_env: str) -> dict[str, Any]:
        out = self.tmp / "figures.json"
        out.unlink(missing_ok=True)
        importtime = ["-X", "importtime"] if IMPORTTIME and mode in ("cold", "floor") else []
        proc = subprocess.run(
            [sys.executable, "-I", *importtime, str(CHILD), mode, *args, str(out)],
            env=self.env(name, **extra_env),
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
        )
        (self.tmp / f"{name}-{mode}.log").write_text(proc.stdout + proc.stderr)
        if importtime:  # the interpreter's import timings, on stderr
            Path(IMPORTTIME).mkdir(parents=True, exist_ok=True)
            (Path(IMPORTTIME) / f"{name}-{mode}.importtime").write_text(proc.stderr)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"{name} ({mode}) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text())

    def floor(self, name: str) -> float:
        key = json.dumps({"pk": {"S": "USER#000000000000000000000000"}, "sk": {"S": "PROFILE"}})
        return self.child(name, "floor", self.names["MainTable"], key)["total"]

    def event(self, name: str) -> Path:
        """The sample event, pointed at state seeded for this run."""
        text = _BEARER.sub(_resign, event_file(name).read_text())
        for old, new in self.seeder.for_function(name).items():
            text = text.replace(old, new)
        path = self.tmp / f"{name}.json"
        path.write_text(text)
        return path

    def function_args(self, name: str, event: Path) -> list[str]:
        fn = self.template.functions()[name]
        module = fn.properties["Handler"].rsplit(".", 1)[0]
        return [str(fn.code_dir), str(LAYER_DIR), module, fn.handler_name, str(event), name]

    def fresh_tables(self) -> None:
        """Each function is measured on tables holding only what its own runs seed. The emulation's index
        queries read every item of the table (moto), where DynamoDB's read only their partition: measured
        in turn on one table, a function would pay for what every function before it had seeded."""
        from tests.bench.seed import Seeder

        ddb = client("dynamodb", self.endpoint)
        for logical in self.template.resources("AWS::DynamoDB::Table"):
            ddb.delete_table(TableName=self.names[logical])
        create_resources(self.template, self.endpoint)
        self.seeder = Seeder()

    def run(self, name: str) -> Figures:
        self.fresh_tables()
        figures = Figures(name)
        for _ in range(RUNS):
            event = self.event(name)
            figures.floors.append(self.floor(name))
            cold = self.child(name, "cold", *self.function_args(name, event))
            self._check(name, cold)
            figures.imports.append(cold["imported"])
            figures.firsts.append(cold["first"])
            figures.totals.append(cold["imported"] + cold["first"])
            figures.rss.append(cold["rss_mb"])
        tape = self.tmp / f"{name}.tape"
        event = self.event(name)  # the primed run replays the warm run's AWS answers: the same event
        figures.warm = self.child(name, "warm", *self.function_args(name, event), str(tape), BENCH_WARM_RUNS=str(WARM_RUNS))
        self._check(name, figures.warm)
        primed = [
            self.child(
                name,
                "primed",
                *self.function_args(name, event),
                str(tape),
                BENCH_WARM_RUNS="20",
                AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",
            )
            for _ in range(PRIMED_RUNS)
        ]
        for run in primed:
            self._check(name, run)
        figures.primed = {key: statistics.median(run[key] for run in primed) for key in ("first", "prime", "restore")}
        counted = self.child(
            name, "primed", *self.function_args(name, event), str(tape), AWS_LAMBDA_INITIALIZATION_TYPE="snap-start", BENCH_COUNT_CALLS="1"
        )
        self._check(name, counted)
        self._check(name, {"status": counted["warm_status"]})
        figures.primed.update(calls_first=counted["calls_first"], calls_warm=counted["calls_warm"])
        return figures

    @staticmethod
    def _check(name: str, figures: dict[str, Any]) -> None:
        # the success path, or the bench measures an error answer; the fallback's answers are 404 / 405
        expected = (404, 405) if name == "RouteNotFoundFunction" else range(200, 300)
        status = figures["status"]
        if status not in expected:
            raise RuntimeError(f"{name}: the sample event answered {status}, not its success path")


def report(rows: list[Figures]) -> str:
    width = max(len(r.name) for r in rows)
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    lines = [
        f"{'function':<{width}}  import  first  total  floor  ratio  warm p50  p99   RSS MB  primed 1st / warm  (restore hooks)  calls 1st / warm",
    ]
    for r in rows:
        med = statistics.median
        lines.append(
            f"{r.name:<{width}}  {ms(med(r.imports)):>6}  {ms(med(r.firsts)):>5}  {ms(med(r.totals)):>5}  {ms(med(r.floors)):>5}"
            f"  {r.ratio:5.2f}  {r.warm['p50'] * 1000:8.1f}  {r.warm['p99'] * 1000:5.1f}  {max([*r.rss, r.warm['rss_mb']]):6.0f}"
            f"  {r.primed['first'] * 1000:6.1f} / {r.warm['p50'] * 1000:.1f} = {r.primed_ratio:.2f}  (restore {r.primed['restore'] * 1000:.0f})"
            f"  calls {r.primed['calls_first']} / {r.primed['calls_warm']}"
        )
    ratios = sorted(r.ratio for r in rows)
    worst = max(rows, key=lambda r: r.ratio)
    worst_primed = max(rows, key=lambda r: r.primed_ratio)
    worst_calls = max(rows, key=lambda r: r.calls_ratio)
    lines.append(
        f"cold (import + first invocation) / floor: worst {worst.ratio:.2f} ({worst.name}), median {statistics.median(ratios):.2f};"
        f" primed first / warm p50: worst {worst_primed.primed_ratio:.2f} ({worst_primed.name}),"
        f" median {statistics.median(r.primed_ratio for r in rows):.2f}, within 2x: {sum(r.primed_ratio <= 2 for r in rows)} of {len(rows)};"
        f" its calls / a warm one's: worst {worst_calls.calls_ratio:.2f} ({worst_calls.name}), median {statistics.median(r.calls_ratio for r in rows):.2f}"
    )
    lines.append(
        f"python {sys.version.split()[0]}; {RUNS} alternating cold runs per function, medians, ms;"
        f" warm: {WARM_RUNS} invocations, AWS calls replayed; floor = import boto3 + DynamoDB client + 1 GetItem;"
        f" secrets: {'extension (stand-in)' if SECRETS == 'extension' else 'Secrets Manager client (no extension)'}"
    )
    return "\n".join(lines)


def main() -> None:
    port = int(os.environ.get("BENCH_AWS_PORT") or _free_port())
    os.environ.update(CREDENTIALS, LOCAL_JWT_SECRET=JWT_SECRET)
    moto = start_moto(port)
    try:
        bench = Bench(port)
        wanted = [n for n in os.environ.get("BENCH_FUNCTIONS", "").split(",") if n]
        rows: list[Figures] = []
        skipped: list[str] = []
        for name in sorted(bench.template.functions()):
            if wanted and name not in wanted:
                continue
            try:
                rows.append(bench.run(name))
            except RuntimeError as exc:  # a function whose sample event the seeder cannot satisfy
                skipped.append(f"{name}: not measured ({str(exc).splitlines()[0]})")
                print(skipped[-1], file=sys.stderr, flush=True)
                continue
            print(report(rows[-1:]).splitlines()[1], file=sys.stderr, flush=True)
    finally:
        moto.stop()
    text = "\n".join([report(rows), *skipped])
    print(text)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "bench-cold-start.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
