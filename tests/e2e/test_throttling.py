"""``make run``'s gateway throttles over HTTP as the stage does: a burst beyond a method's bucket is answered
429 in the envelope with ``Retry-After: 1``, and no more requests reach the function than the bucket allows
(burst + rate × elapsed). The in-process tests (tests/integration/test_throttling.py) move a clock; this
one is the running stack, with real time."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from local.cfn import Template
from local.routing import Router
from local.throttling import Throttle

ROUND, ROUNDS = 400, 10  # sent 400 at a time until one is refused: 600 took 0.8-1.9 s here (at 100/s, burst 200)


def _send_until_refused(stack) -> tuple[Counter[int], float, requests.Response | None]:
    """``DELETE /docs`` from 32 threads, a round at a time, until one is throttled (at most ``ROUNDS``): the
    statuses, the seconds from before the first to after the last, and a throttled reply. One fixed batch
    could all pass on a slow machine (slower than the rate); rounds keep sending until the bucket is empty,
    and the bound below uses the time they took."""
    statuses: Counter[int] = Counter()
    throttled = None
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        for _ in range(ROUNDS):
            replies = list(pool.map(lambda _: requests.delete(stack.url("/docs"), timeout=30), range(ROUND)))
            statuses.update(reply.status_code for reply in replies)
            throttled = next((reply for reply in replies if reply.status_code == 429), None)
            if throttled is not None:
                break
    return statuses, time.monotonic() - started, throttled


def test_a_burst_beyond_a_methods_bucket_is_refused_over_http(stack):
    # DELETE /docs is the resource's ANY method (a 405 from RouteNotFoundFunction), which no other test sends
    template = Template.load(Stage="local")
    limit = Throttle.from_template(template, Router.from_template(template).methods()).limits[("/docs", "ANY")]
    statuses, elapsed, throttled = _send_until_refused(stack)
    assert set(statuses) <= {405, 429}, statuses
    assert throttled is not None, f"{statuses.total()} requests took {elapsed:.1f} s: never faster than the bucket's rate"
    # never more through than the bucket held (at most its burst) plus what it gained meanwhile: elapsed spans
    # every request the gateway admitted, so a slow machine only loosens the bound
    assert statuses[405] <= limit.burst + limit.rate * elapsed + 1, (statuses, elapsed)
    assert throttled.headers["Retry-After"] == "1" and throttled.headers["Content-Type"] == "application/json"
    assert throttled.json()["errors"] == ["Too many requests"] and throttled.json()["statusCode"] == 429
    time.sleep(limit.burst / limit.rate)  # the bucket full again for whatever runs next
    assert requests.delete(stack.url("/docs"), timeout=30).status_code == 405
