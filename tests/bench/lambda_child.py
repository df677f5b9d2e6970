"""One execution environment, as Lambda runs a function: a fresh interpreter (``python -I``, so that
nothing of the repository is on ``sys.path`` but the function's directory and the layer) that imports
the handler's module and invokes it. Run by :mod:`tests.bench.cold_start`; it writes its figures as
JSON to the file named by its last argument (stdout is the function's: logs and EMF metrics).

Modes:
  floor   ``import boto3`` + a DynamoDB client + one GetItem: the least any function does
  cold    import, then the first invocation, both timed (against the local AWS emulation)
  warm    the first invocation records every AWS response; then WARM_RUNS invocations replay them
          (the network stubbed: the figure is our code and the SDK's, not the emulation's); p50 / p99;
          the responses are saved for ``primed``
  primed  as SnapStart runs it: import (hooks registered with a stand-in ``snapshot_restore_py``),
          the before-snapshot hooks, the after-restore hooks, then the first invocation and
          PRIMED_RUNS more, AWS calls replayed from ``warm``'s recording
"""

from __future__ import annotations

import json
import os
import sys
import time

_T0 = time.perf_counter()  # before any import of ours: the init phase starts here


class LambdaContext:
    def __init__(self, name: str) -> None:
        import uuid

        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _new_trace() -> None:
    """Lambda sets a fresh (sampled) trace header for every invocation; the X-Ray SDK reads it."""
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={os.urandom(8).hex()};Sampled=1"


class Tape:
    """Every AWS response, recorded once off the wire and replayed in the same order: only the network
    is stubbed, botocore still builds, signs and parses every request (and X-Ray traces it)."""

    def __init__(self) -> None:
        import threading

        self.calls: list[tuple[str, int, dict[str, str], bytes]] = []
        self.replaying = False
        self.used: dict[str, int] = {}  # per operation, how many of its recorded responses were replayed
        self.lock = threading.Lock()  # calls sent at once (the layer's parallel requests) take turns here
        self.recording = True  # off in ``primed`` mode: what the priming sends (answered in process) is not a recording

    @staticmethod
    def _key(request) -> str:
        target = request.headers.get("X-Amz-Target")  # the operation of JSON protocols
        if target:
            return target.decode() if isinstance(target, bytes) else target
        return f"{request.method} {request.url.split('?')[0]}"

    def install(self) -> None:
        import botocore.endpoint
        from botocore.awsrequest import AWSResponse

        real = botocore.endpoint.Endpoint._send
        tape = self

        def _send(endpoint, request):
            key = tape._key(request)
            if tape.replaying:
                # the next recorded response to this operation, in the order they were recorded: a warm
                # invocation skips what it cached on the first, and calls sent at once (the layer's
                # parallel requests) come in any order; one making more calls than the first (a sweep
                # whose minute turned meanwhile) takes them round again
                with tape.lock:
                    seen = tape.used.get(key, 0)
                    tape.used[key] = seen + 1
                recorded = [call for call in tape.calls if call[0] == key]
                _, status, headers, body = recorded[seen % len(recorded)]
                response = AWSResponse(request.url, status, headers, None)
                response._content = body
                return response
            response = real(endpoint, request)
            if tape.recording:
                tape.calls.append((key, response.status_code, dict(response.headers.items()), response.content))
            return response

        botocore.endpoint.Endpoint._send = _send

    def rewind(self) -> None:
        self.replaying, self.used = True, {}


def _fake_snapshot_module() -> tuple[list, list]:
    """What Lambda's Python runtime provides under SnapStart: hooks registered, called by the runtime; the
    lists are in the order it calls them (before-snapshot hooks: the reverse of their registration)."""
    import types

    before: list = []
    after: list = []
    module = types.ModuleType("snapshot_restore_py")

    def register_before_snapshot(fn, *args, **kwargs):
        before.insert(0, (fn, args, kwargs))  # the runtime runs these in the reverse order of registration
        return fn

    def register_after_restore(fn, *args, **kwargs):
        after.append((fn, args, kwargs))
        return fn

    module.register_before_snapshot = register_before_snapshot  # type: ignore[attr-defined]
    module.register_after_restore = register_after_restore  # type: ignore[attr-defined]
    sys.modules["snapshot_restore_py"] = module
    return before, after


def _status(result: object) -> int:
    if isinstance(result, dict) and "statusCode" in result:
        return int(result["statusCode"])
    return 200  # a non-HTTP function answered without raising


def _rss_mb() -> float:
    """Peak RSS of this interpreter: VmHWM (getrusage's ru_maxrss would include the parent's peak,
    which survives fork and exec on Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return 0.0


def main(argv: list[str]) -> None:
    mode, out_path = argv[0], argv[-1]
    figures = _floor(argv[1], json.loads(argv[2])) if mode == "floor" else _function(mode, argv)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(figures, f)


def _floor(table: str, key: dict) -> dict[str, object]:
    start = time.perf_counter()
    import boto3

    boto3.client("dynamodb").get_item(TableName=table, Key=key)
    return {"total": time.perf_counter() - start, "rss_mb": _rss_mb()}


def _function(mode: str, argv: list[str]) -> dict[str, object]:
    code_dir, layer_dir, module_name, handler_name, event_path, name = argv[1:7]
    # BENCH_PYTHONPATH: directories ahead of the interpreter's packages (an A/B of a library version)
    sys.path[:0] = [code_dir, layer_dir, *filter(None, os.environ.get("BENCH_PYTHONPATH", "").split(os.pathsep))]
    with open(event_path, encoding="utf-8") as f:
        event = json.load(f)
    tape = Tape()
    hooks = None
    if mode in ("warm", "primed"):
        tape.install()
    if mode == "primed":
        import pickle

        with open(argv[7], "rb") as f:
            tape.calls = pickle.load(f)
        tape.recording = False
        hooks = _fake_snapshot_module()
    figures: dict[str, object] = {}
    start = time.perf_counter()
    import importlib

    handler = getattr(importlib.import_module(module_name), handler_name)
    imported = time.perf_counter()
    if hooks is not None:
        figures.update(_snapshot_and_restore(*hooks))
        tape.rewind()
    if os.environ.get("BENCH_COUNT_CALLS"):  # what the first invocation does that a warm one does not
        return _counted(handler, event, name, tape)
    first, result = _first_invocation(handler, event, name, mode)
    figures.update(init_overhead=start - _T0, imported=imported - start, first=first, status=_status(result), rss_mb=_rss_mb())
    if mode == "warm":
        import pickle

        with open(argv[7], "wb") as f:
            pickle.dump(tape.calls, f)
    if mode in ("warm", "primed"):
        figures.update(_repeated(handler, event, name, tape, figures["status"]))
    return figures


def _snapshot_and_restore(before: list, after: list) -> dict[str, object]:
    """The runtime's part: the before-snapshot hooks, then (in the restored copy) the after-restore ones."""
    start = time.perf_counter()
    for fn, args, kwargs in before:
        fn(*args, **kwargs)
    primed = time.perf_counter()
    for fn, args, kwargs in after:
        fn(*args, **kwargs)
    restored = time.perf_counter()
    return {"prime": primed - start, "restore": restored - primed, "hooks": [len(before), len(after)]}


def _calls(handler, event: dict, name: str) -> tuple[int, int]:
    """The Python and C function calls one invocation makes (``sys.setprofile``, every thread it starts
    too): its work, whatever state the caches are in; and its answer's status. It slows the invocation:
    counted runs are not timed."""
    import threading

    count = 0

    def profile(frame, what, arg):
        nonlocal count
        if what in ("call", "c_call"):
            count += 1

    _new_trace()
    context = LambdaContext(name)
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        result = handler(event, context)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return count, _status(result)


def _counted(handler, event: dict, name: str, tape: Tape) -> dict[str, object]:
    """The first invocation's calls, then a warm one's (the 6th: the same answers replayed); each counted
    invocation's status, for the bench to check (a count of an error path would be no figure)."""
    tape.rewind()
    first, status = _calls(handler, event, name)
    for _ in range(4):
        tape.rewind()
        _new_trace()
        handler(event, LambdaContext(name))
    tape.rewind()
    warm, warm_status = _calls(handler, event, name)
    return {"calls_first": first, "calls_warm": warm, "status": status, "warm_status": warm_status}


def _first_invocation(handler, event: dict, name: str, mode: str) -> tuple[float, object]:
    _new_trace()
    profile = os.environ.get("BENCH_PROFILE_FIRST")  # a path: cProfile stats of the first invocation
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    context = LambdaContext(name)  # the runtime builds it before the clock starts
    start = time.perf_counter()
    result = handler(event, context)
    done = time.perf_counter()
    if profile:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{mode}")
    return done - start, result


def _repeated(handler, event: dict, name: str, tape: Tape, status: object) -> dict[str, object]:
    """BENCH_WARM_RUNS more invocations, AWS calls replayed: p50, p99."""
    runs = int(os.environ.get("BENCH_WARM_RUNS", "1000"))
    times = []
    for _ in range(runs):
        tape.rewind()
        _new_trace()
        context = LambdaContext(name)
        t = time.perf_counter()
        result = handler(event, context)
        times.append(time.perf_counter() - t)
        if _status(result) != status:  # the replay must take the first one's path
            raise SystemExit(f"replayed invocation answered {_status(result)}: {result}")
    times.sort()
    return {"p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "rss_mb": _rss_mb()}


if __name__ == "__main__":
    main(sys.argv[1:])
