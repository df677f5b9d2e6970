"""One SnapStart life of a function, as Lambda runs it, with tracing and metrics on: import (hooks
registered with a stand-in ``snapshot_restore_py``), the before-snapshot hooks, the after-restore
hooks, then (with ``--invoke``) one invocation of EVENT. What the process prints (log lines, EMF
documents: file descriptor 1) and sends to the X-Ray daemon (a UDP socket of its own on loopback) is
collected per phase and written as JSON to OUT.

Arguments: CODE_DIR LAYER_DIR MODULE HANDLER NAME EVENT_JSON|- OUT [--invoke]
"""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

code_dir, layer_dir, module_name, handler_name, name, event_json, out = sys.argv[1:8]
invoke = "--invoke" in sys.argv[8:]
sys.path[:0] = [code_dir, layer_dir]
bench = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(bench))
import lambda_child  # noqa: E402  - the bench's stand-ins for the runtime: the hooks' module, the context

daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
daemon.setblocking(False)
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = f"127.0.0.1:{daemon.getsockname()[1]}"

printed = tempfile.TemporaryFile()  # noqa: SIM115 - open for the life of the process: it is fd 1
os.dup2(printed.fileno(), 1)  # the function's stdout, whatever object holds it


def emitted() -> dict[str, list]:
    """What was printed and sent since the last call."""
    sys.stdout.flush()
    printed.seek(0)
    lines = [line for line in printed.read().decode().splitlines() if line.strip()]
    printed.seek(0)
    printed.truncate()
    segments = []
    while True:
        try:
            segments.append(json.loads(daemon.recv(65536).decode().split("\n", 1)[1]))
        except BlockingIOError:
            return {"printed": lines, "segments": segments}


before, after = lambda_child._fake_snapshot_module()
handler = getattr(__import__(module_name), handler_name)
for fn, args, kwargs in before:
    fn(*args, **kwargs)
result: dict = {"snapshot": emitted(), "snapshot_loaded_pydantic": "pydantic" in sys.modules}
# the collector as the snapshot holds it: running, what init and priming left frozen, and how many
# tracked objects are not (what a restored copy's first full collection would walk)
result["collector"] = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "unfrozen": len(gc.get_objects())}
from aws_xray_sdk.core import xray_recorder  # noqa: E402

emitter = xray_recorder.emitter
for fn, args, kwargs in after:
    fn(*args, **kwargs)
result["restore"] = emitted()
result["emitter_renewed"] = xray_recorder.emitter is not emitter and emitter._socket.fileno() == -1
if invoke:
    lambda_child._new_trace()
    answer = handler(json.loads(event_json), lambda_child.LambdaContext(name))
    result["status"] = answer["statusCode"]
    result["invocation"] = emitted()
# last: the garbage the snapshot held frozen (found once unfrozen; the copy's own garbage collected first)
gc.collect()
gc.unfreeze()
result["collector"]["frozen_garbage"] = gc.collect()
Path(out).write_text(json.dumps(result))
