"""JSON Schemas of the events the service puts on its EventBridge bus, one file per detail type, as a
consumer's target receives them (EventBridge's envelope with our ``detail``), generated from the
publisher's own model (``livestream.event_models.EventDetail``).

    python -m tools.event_schemas [--check]

writes ``docs/events/schemas/<detail-type>.json``, or with ``--check`` fails when a committed file
differs from what the code generates (a test runs the check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "docs" / "events" / "schemas"

# detail type → (what it means, the states it can carry, the previous states it can carry)
MEANING: dict[str, tuple[str, list[str], list[str | None]]] = {
    "stream.created": ("A stream was created: scheduled, or active when it went live at once.", ["scheduled", "active"], [None]),
    "stream.started": (
        "A stream went live: a scheduled one was started, or one was created live (previousState null).",
        ["active"],
        ["scheduled", None],
    ),
    "stream.ended": ("A live stream ended.", ["ended"], ["active"]),
    "stream.cancelled": ("A scheduled stream was ended before it started.", ["cancelled"], ["scheduled"]),
    "audience.changed": (
        "A live stream's audience counts changed; at most one per stream per 10 seconds, carrying the newest counts.",
        ["active"],
        [None],
    ),
}


def schema(detail_type: str) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the layer creates its clients at import
    if str(ROOT / "layers" / "common") not in sys.path:
        sys.path.insert(0, str(ROOT / "layers" / "common"))
    from livestream.event_models import EventDetail
    from livestream.events_out import DETAIL_TYPES, SOURCE

    assert detail_type in DETAIL_TYPES
    meaning, states, previous = MEANING[detail_type]
    detail = EventDetail.model_json_schema()
    definitions = detail.pop("$defs", {})
    detail["properties"]["state"] = {"enum": states, "description": detail["properties"]["state"]["description"]}
    detail["properties"]["previousState"] = {"enum": previous, "description": detail["properties"]["previousState"]["description"]}
    detail["title"] = "detail"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": detail_type,
        "description": f"{meaning} Delivered by EventBridge from the service's bus (source {SOURCE!r}).",
        "type": "object",
        "required": ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string", "description": "EventBridge's event id"},
            "detail-type": {"const": detail_type},
            "source": {"const": SOURCE},
            "account": {"type": "string"},
            "time": {"type": "string", "description": "EventBridge's event time: the detail's time, to the second"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail,
        },
        "$defs": definitions,
    }


def render(detail_type: str) -> str:
    return json.dumps(schema(detail_type), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed schema is stale")
    args = parser.parse_args(argv)
    stale = []
    for detail_type in MEANING:
        path = SCHEMAS / f"{detail_type}.json"
        text = render(detail_type)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(map(str, stale))}; run `python -m tools.event_schemas`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
