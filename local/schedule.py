"""EventBridge for the local run: fires every scheduled function of the template on a fixed period."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from local.cfn import ACCOUNT, REGION, Template


def scheduled_event(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def scheduled_functions(template: Template) -> list[str]:
    return [name for name, function in template.functions().items() if function.schedules]


class Ticker:
    """Calls ``fire(name, event)`` for each scheduled function every ``period`` seconds (0: never)."""

    def __init__(self, template: Template, period: float, fire: Callable[[str, dict[str, Any]], Any]) -> None:
        self.names, self.period, self.fire = scheduled_functions(template), period, fire
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedule", daemon=True)

    def start(self) -> None:
        if self.period > 0 and self.names:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            for name in self.names:
                result = self.fire(name, scheduled_event(f"{name}-schedule"))
                print(f"[schedule] {name}: {result}", flush=True)

    def stop(self) -> None:
        self._stop.set()
