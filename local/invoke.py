"""``make invoke FUNCTION=<logical id> EVENT=events/<file>.json``: one invocation against the running
local stack, as ``sam local invoke -e`` would do: the function's logs, then its answer as one JSON line."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from local.cfn import Template
from local.emulation import function_environment
from local.workers import Worker


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0] or not argv[1]:
        print("usage: make invoke FUNCTION=<logical id> EVENT=events/<file>.json", file=sys.stderr)
        return 2
    name, event_file = argv
    template = Template.load(Stage="local")
    if name not in template.functions():
        print(f"no function {name!r} in template.yaml; there are: {', '.join(sorted(template.functions()))}", file=sys.stderr)
        return 2
    endpoint = f"http://127.0.0.1:{os.environ.get('LOCAL_AWS_PORT', '5055')}"
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
    except OSError:
        print(f"the local AWS emulation is not answering at {endpoint}: start `make run` first", file=sys.stderr)
        return 1
    event = json.loads(Path(event_file).read_text())
    api_url = f"http://127.0.0.1:{os.environ.get('LOCAL_API_PORT', '3000')}"
    worker = Worker(template.functions()[name], function_environment(template, name, endpoint, api_url))
    try:
        status, result = worker.invoke(event)
    finally:
        worker.stop()
    # the function's own log lines come first; its answer is the last line
    print(json.dumps(result, ensure_ascii=False) if status == "ok" else result, flush=True)
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
