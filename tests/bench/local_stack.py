"""Benchmark: N viewers join one stream over HTTP against the local stack, as ``make run`` runs it.

Starts ``python -m local.run`` (what ``make run`` runs) in a session of its own on loopback (free
ports, or ``LOCAL_API_PORT`` / ``LOCAL_AWS_PORT``), starts a live stream, syncs N users' profiles
(the internal API, four clients; a 429 of the stage's throttle is sent again after its Retry-After),
then has the N users join the stream as audience one at a time.
Prints the resident memory of the whole process tree (server, moto, function workers) as the joins
go, the join latency at the start and at the end, and how long the stack takes to exit on SIGTERM
to its process group with a request in flight.

``make bench-local`` (``BENCH_JOINS``, default 10,000; ``BENCH_REPORT_EVERY``, default N/10).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

from local.cfn import ROOT
from local.emulation import dev_setting

PAGE = os.sysconf("SC_PAGE_SIZE")
THROTTLE_RETRIES = 30
THROTTLED: list[str] = []  # the requests answered 429 (then sent again)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_pids(root: int) -> list[int]:
    """``root`` and every descendant (from /proc: each thread's ``children``)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def tree_rss(root: int, children: bool = True) -> int:
    """Resident bytes of ``root`` and (unless ``children=False``) its descendants."""
    total = 0
    for pid in tree_pids(root) if children else [root]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


@dataclass
class LocalStack:
    """``python -m local.run`` on free ports, in its own session (its own process group)."""

    process: subprocess.Popen
    base_url: str
    api_port: int
    aws_port: int
    log: Path

    @classmethod
    def start(cls, log: Path, timeout: float = 60, api_port: int = 0, aws_port: int = 0) -> LocalStack:
        api_port, aws_port = api_port or free_port(), aws_port or free_port()
        env = {**os.environ, "LOCAL_API_PORT": str(api_port), "LOCAL_AWS_PORT": str(aws_port), "LOCAL_SCHEDULE_SECONDS": "0"}
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        stack = cls(process, f"http://127.0.0.1:{api_port}", api_port, aws_port, log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(stack.base_url + "/openapi.json", timeout=5).status_code == 200:
                    return stack
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stack.kill()
                raise RuntimeError(f"the local stack did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def terminate(self, timeout: float = 20) -> float:
        """SIGTERM to the process group; the seconds until the server exited."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return time.monotonic() - started

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def token(user_id: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 24 * 3600}, dev_setting("LOCAL_JWT_SECRET"), algorithm="HS256")


def user_id(n: int) -> str:
    return f"{n:024x}"


@dataclass
class Client:
    """One HTTP client of the local stack: profile syncs, a live stream, joins."""

    stack: LocalStack
    http: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        """One request; a 429 (the stage's throttle, which the local gateway applies) is sent again after
        its ``Retry-After``, as the platform's services and apps do, up to ``THROTTLE_RETRIES`` times."""
        for _ in range(THROTTLE_RETRIES):
            reply = self.http.request(method, self.stack.base_url + path, timeout=60, **kwargs)
            if reply.status_code != 429:
                break
            THROTTLED.append(path)
            time.sleep(float(reply.headers.get("Retry-After", "1")))
        if reply.status_code != expect:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:500]}")
        return reply.json()

    def user(self, n: int) -> str:
        """Sync user ``n``'s profile (the internal API); answers the user id."""
        body = {"username": f"viewer{n}", "name": "Viewer", "surname": f"N{n}"}
        self.call("PUT", f"/internal/v1/users/{user_id(n)}", 200, json=body, headers={"Api-Token": dev_setting("LOCAL_API_TOKEN")})
        return user_id(n)

    def stream(self) -> str:
        """A new live stream, started; answers its id."""
        creator = self.user(10**12)
        auth = {"Authorization": f"Bearer {token(creator)}"}
        stream = self.call("POST", "/api/v1/live-stream/create", 201, json={"title": "Bench"}, headers=auth)["data"]
        if stream["status"] != "active":
            self.call("POST", f"/api/v1/live-stream/{stream['id']}/start", 200, headers=auth)
        return stream["id"]

    def join(self, stream_id: str, viewer: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {token(viewer)}"}
        return self.call("POST", "/api/v1/live-stream/join-as-audience", 200, json={"liveStreamId": stream_id}, headers=auth)


def sync_profiles(stack: LocalStack, users: range, clients: int = 4) -> None:
    chunks = [users[k::clients] for k in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda chunk: [Client(stack).user(n) for n in chunk], chunks))


def mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    n = int(os.environ.get("BENCH_JOINS", "10000"))
    every = int(os.environ.get("BENCH_REPORT_EVERY", str(max(1, n // 10))))
    warm_up = 20
    ports = {"api_port": int(os.environ.get("LOCAL_API_PORT", "0")), "aws_port": int(os.environ.get("LOCAL_AWS_PORT", "0"))}
    stack = LocalStack.start(ROOT / "test-output" / "bench-local-stack.log", **ports)
    pid = stack.process.pid
    try:
        client = Client(stack)
        stream_id = client.stream()
        for k in range(warm_up):  # each function's worker starts
            client.join(stream_id, client.user(10**12 + 1 + k))
        rss_start = tree_rss(pid)
        started = time.monotonic()
        sync_profiles(stack, range(1, n + 1))
        print(f"{n} profiles synced in {time.monotonic() - started:.0f} s; RSS {mb(rss_start)} before, {mb(tree_rss(pid))} after", flush=True)
        print(f"  {len(THROTTLED)} syncs answered 429 by the stage's throttle on the profile sync and sent again after Retry-After", flush=True)

        latencies: list[float] = []
        started = time.monotonic()
        for i in range(1, n + 1):
            begun = time.perf_counter()
            client.join(stream_id, user_id(i))
            latencies.append(time.perf_counter() - begun)
            if i % every == 0 or i == n:
                recent = latencies[-min(every, 500) :]
                print(
                    f"{i:>7} joins  RSS {mb(tree_rss(pid)):>7} (server and moto {mb(tree_rss(pid, children=False))})"
                    f"  join median of the last {len(recent)}: {ms(statistics.median(recent))}",
                    flush=True,
                )
        rss_end = tree_rss(pid)
        window = min(500, max(1, n // 2))
        first, last = latencies[:window], latencies[-window:]
        print(f"{n} joins to one stream in {time.monotonic() - started:.0f} s, one at a time")
        print(f"RSS of the make-run process tree: {mb(rss_start)} after warm-up, {mb(rss_end)} after {n} profiles and joins")
        print(f"join latency, first {window}: median {ms(statistics.median(first))}, 95th percentile {ms(percentile(first, 95))}")
        print(f"join latency, last {window}: median {ms(statistics.median(last))}, 95th percentile {ms(percentile(last, 95))}")

        busy = threading.Thread(target=_quietly, args=(client.join, stream_id, client.user(n + 1)), daemon=True)
        busy.start()  # stop it with a request in flight
        print(f"SIGTERM to the process group: exited in {stack.terminate():.2f} s")
    finally:
        if stack.process.poll() is None:
            stack.kill()


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def _quietly(call: Any, *args: Any) -> None:
    with contextlib.suppress(requests.RequestException, RuntimeError):
        call(*args)


if __name__ == "__main__":
    main()
