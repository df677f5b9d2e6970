"""Fuzz the API over HTTP with schemathesis, driven by the committed openapi.json.

    python -m tests.fuzz.run --url http://127.0.0.1:3000 [--max-examples N] [--seed S] [--max-time SECONDS]

Against a running local stack (``make run``; ``make fuzz`` starts one of its own): syncs a user and
creates two streams so that authenticated operations and real ids are reachable, then runs every
operation of the document through schemathesis's examples, coverage and fuzzing phases, positive and
negative data. Pass: no 5xx, every status documented, every response body, header and content type
as the document says. Exit status 0 when nothing was found.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
FUZZ_USER = "0fa2c0de0fa2c0de0fa2c0de"
QUICK_PHASES = "examples,fuzzing"  # make test: bounded by --max-examples per operation
FULL_PHASES = "examples,coverage,fuzzing"  # make fuzz: plus the coverage phase's boundary values (about 1,000 cases)


def prepare(base_url: str, jwt_secret: str, api_token: str) -> tuple[list[str], list[str]]:
    """A synced user and two of their streams (one live, one scheduled): the ids and the channel names
    the hooks use."""
    import time

    import jwt

    profile = {"username": "fuzzer", "name": "Fuzz", "surname": "Tester"}
    reply = requests.put(f"{base_url}/internal/v1/users/{FUZZ_USER}", json=profile, headers={"Api-Token": api_token}, timeout=30)
    reply.raise_for_status()
    now = int(time.time())
    token = jwt.encode({"sub": FUZZ_USER, "iat": now, "exp": now + 3600}, jwt_secret, algorithm="HS256")
    streams, channels = [], []
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    for body in ({"title": "Fuzzing live"}, {"title": "Fuzzing later", "plannedStartDate": soon}):
        reply = requests.post(f"{base_url}/api/v1/live-stream/create", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        reply.raise_for_status()
        streams.append(reply.json()["data"]["id"])
        channels.append(reply.json()["data"]["channelName"])
    return streams, channels


def run(
    base_url: str,
    *,
    jwt_secret: str,
    api_token: str,
    agora_secret: str,
    max_examples: int,
    seed: int,
    max_time: int | None = None,
    phases: str = QUICK_PHASES,
    report_dir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    streams, channels = prepare(base_url, jwt_secret, api_token)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
        "FUZZ_JWT_SECRET": jwt_secret,
        "FUZZ_API_TOKEN": api_token,
        "FUZZ_USER_ID": FUZZ_USER,
        "FUZZ_STREAM_IDS": ",".join(streams),
        "FUZZ_CHANNELS": ",".join(channels),
        "FUZZ_AGORA_SECRET": agora_secret,
        "PYTHONPATH": str(ROOT),
    }
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(ROOT / "openapi.json"),
        "--url",
        base_url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        phases,
        "--mode",
        "all",
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
    ]
    if max_time:
        command += ["--max-time", str(max_time)]
    if report_dir is not None:
        command += ["--report", "junit", "--report-dir", str(report_dir)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)


def main(argv: list[str] | None = None) -> int:
    from local.emulation import dev_setting

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--max-examples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--max-time", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help=f"phases {QUICK_PHASES} only (as make test runs them)")
    args = parser.parse_args(argv)
    result = run(
        args.url,
        jwt_secret=dev_setting("LOCAL_JWT_SECRET"),
        api_token=dev_setting("LOCAL_API_TOKEN"),
        agora_secret=dev_setting("AGORA_NOTIFICATION_SECRET"),
        max_examples=args.max_examples,
        seed=args.seed,
        max_time=args.max_time,
        phases=QUICK_PHASES if args.quick else FULL_PHASES,
    )
    print(result.stdout, result.stderr, sep="\n")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
