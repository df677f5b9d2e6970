"""Each function runs in worker processes of its own, as Lambda runs it in execution environments.

Powertools' resolver keeps the current event in process-wide state, so a process resolves one
request at a time; concurrent requests to one function get more workers (up to ``MAX_WORKERS``),
like concurrent Lambda instances. Workers are spawned (not forked) on first use, with the function's
directory and the layer first on ``sys.path`` (Lambda's /var/task and /opt/python), its
environment from template.yaml, and its template policy enforced on every AWS call (``local.iam``).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import uuid
from multiprocessing.connection import Connection
from typing import Any

from local.cfn import LAYER_DIR, Function

MAX_WORKERS = 4
_spawn = multiprocessing.get_context("spawn")


class LambdaContext:
    """The parts of Lambda's context object our handlers and Powertools use."""

    def __init__(self, name: str, memory: int, timeout: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _worker_main(code_dir: str, module_file: str, handler_name: str, name: str, env: dict[str, str], policy: Any, conn: Connection) -> None:
    import importlib.util
    import os
    import signal
    import sys
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the stack stops its workers itself
    from local import iam

    os.environ.update(env)
    iam.enforce(iam.Policy.from_json(name, policy["statements"]), policy["secrets"])  # before any client exists
    sys.path[:0] = [code_dir, str(LAYER_DIR)]
    spec = importlib.util.spec_from_file_location(f"functions_{name}", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    memory, timeout = int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]), int(env["AWS_LAMBDA_FUNCTION_TIMEOUT"])
    conn.send(("ready", None))
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", handler(event, LambdaContext(name, memory, timeout))))
        except Exception:
            conn.send(("error", traceback.format_exc()))


def local_policy(function: Function, env: dict[str, str]) -> dict[str, Any]:
    """The function's policy from template.yaml (expanded by the SAM translator), resolved to the
    local resources its environment points at, and the secrets' name → ARN map."""
    from local import iam
    from local.emulation import physical_names

    names = physical_names(function.template, env["AWS_ENDPOINT_URL"])
    policy = iam.function_policies(function.template, names)[function.name]
    return {"statements": policy.to_json(), "secrets": iam.secret_arns(function.template, names)}


class Worker:
    def __init__(self, function: Function, env: dict[str, str], policy: dict[str, Any] | None = None) -> None:
        if policy is None:
            policy = local_policy(function, env)
        self.conn, child = _spawn.Pipe()
        self.process = _spawn.Process(
            target=_worker_main,
            args=(str(function.code_dir), str(function.module_file), function.handler_name, function.name, env, policy, child),
            daemon=True,
            name=f"lambda-{function.name}",
        )
        self.process.start()
        child.close()
        status, detail = self.conn.recv()
        if status != "ready":
            raise RuntimeError(detail)
        self.idle_since = time.monotonic()

    def invoke(self, event: dict[str, Any], timeout: float | None = None) -> tuple[str, Any]:
        """``("ok", result)`` or ``("error", detail)``, as the worker process answers; ``TimeoutError``
        when it has not answered within ``timeout`` seconds."""
        self.conn.send(event)
        if timeout is not None and not self.conn.poll(timeout):
            raise TimeoutError(timeout)
        status, detail = self.conn.recv()
        return str(status), detail

    def stop(self, timeout: float = 2) -> None:
        self.process.terminate()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class FunctionPool:
    """The workers of one function: an idle one serves the next request; a new one starts when all are busy."""

    def __init__(self, function: Function, env: dict[str, str], max_workers: int = MAX_WORKERS) -> None:
        self.function, self.env, self.max_workers = function, env, max_workers
        self.policy = local_policy(function, env)
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._all: list[Worker] = []
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> tuple[str, Any]:
        worker = self._acquire()
        try:
            status, result = worker.invoke(event, self.function.timeout)
        except TimeoutError:
            self._discard(worker)  # as Lambda ends an execution environment whose invocation timed out
            return "error", f"Task timed out after {self.function.timeout:.2f} seconds"
        except (EOFError, OSError, BrokenPipeError):
            self._discard(worker)
            return "error", f"the worker of {self.function.name} died"
        worker.idle_since = time.monotonic()
        self._idle.put(worker)
        return status, result

    def reap(self, idle_seconds: float) -> int:
        """Stop the workers idle for more than ``idle_seconds``, as Lambda recycles idle execution
        environments: a function used once does not hold a process for good. Answers how many."""
        now = time.monotonic()
        kept: list[Worker] = []
        expired: list[Worker] = []
        with self._lock:
            while True:
                try:
                    worker = self._idle.get_nowait()  # the most recently used first
                except queue.Empty:
                    break
                (expired if now - worker.idle_since > idle_seconds else kept).append(worker)
            for worker in reversed(kept):
                self._idle.put(worker)
            for worker in expired:
                self._all.remove(worker)
        for worker in expired:
            worker.stop()
        return len(expired)

    def _acquire(self) -> Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self.max_workers:
                worker = Worker(self.function, self.env, self.policy)
                self._all.append(worker)
                return worker
        return self._idle.get()

    def _discard(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.stop()

    def stop(self) -> None:
        with self._lock:
            for worker in self._all:
                worker.stop()
            self._all.clear()


class Reaper:
    """Every ``idle_seconds / 4``, stops the workers idle for more than ``idle_seconds`` (0: never)."""

    def __init__(self, pools: list[FunctionPool], idle_seconds: float) -> None:
        self.pools, self.idle_seconds = pools, idle_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reaper", daemon=True)

    def start(self) -> None:
        if self.idle_seconds > 0:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.idle_seconds / 4):
            for pool in self.pools:
                pool.reap(self.idle_seconds)

    def stop(self) -> None:
        self._stop.set()
