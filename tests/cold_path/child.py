"""One cold start (``tests/bench/lambda_child.py``'s ``cold`` mode: a fresh interpreter imports the
handler and invokes it once), then the modules under ``WATCHED`` that it loaded, added to its figures.
Arguments: lambda_child's, after the mode."""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
from pathlib import Path

WATCHED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # only the function and the layer

# the cyclic collector's passes once the layer is loading, and how many objects each found frozen: during
# init (the layer loaded, nothing frozen yet) there must be none (livestream.end_init)
passes: list[int] = []
gc.callbacks.append(lambda phase, info: phase == "start" and "livestream" in sys.modules and passes.append(gc.get_freeze_count()))

spec = importlib.util.spec_from_file_location("lambda_child", HERE.parent / "bench" / "lambda_child.py")
assert spec is not None and spec.loader is not None
child = importlib.util.module_from_spec(spec)
spec.loader.exec_module(child)
child.main(["cold", *sys.argv[1:]])
out = Path(sys.argv[-1])
figures = json.loads(out.read_text())
figures["loaded"] = sorted(name for name in sys.modules if name.startswith(WATCHED))
figures["libraries"] = sorted(name for name in ("pydantic", "boto3") if name in sys.modules)
figures["asyncio"] = "asyncio" in sys.modules
figures["pydantic_core"] = "pydantic_core" in sys.modules
figures["collector"] = {"passes_during_init": passes.count(0), "frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}
out.write_text(json.dumps(figures))
