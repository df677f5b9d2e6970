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

SENT = 1200  # 600 took 0.8-1.9 s here: a 100/s, burst-200 bucket then lets 280-390 through


def test_a_burst_beyond_a_methods_bucket_is_refused_over_http(stack):
    # DELETE /docs is the resource's ANY method (a 405 from RouteNotFoundFunction), which no other test sends
    template = Template.load(Stage="local")
    limit = Throttle.from_template(template, Router.from_template(template).methods()).limits[("/docs", "ANY")]
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda _: requests.delete(stack.url("/docs"), timeout=30), range(SENT)))
    elapsed = time.monotonic() - started
    statuses = Counter(reply.status_code for reply in replies)
    assert set(statuses) <= {405, 429}, statuses
    # never more through than the bucket holds plus what it gained meanwhile, however fast the machine
    assert statuses[405] <= limit.burst + limit.rate * elapsed + 1, (statuses, elapsed)
    assert statuses[429] >= SENT - (limit.burst + limit.rate * elapsed) - 1, (statuses, elapsed)
    assert statuses[429] > 0, f"{SENT} requests took {elapsed:.1f} s: too slow to outrun the bucket"
    throttled = next(reply for reply in replies if reply.status_code == 429)
    assert throttled.headers["Retry-After"] == "1" and throttled.headers["Content-Type"] == "application/json"
    assert throttled.json()["errors"] == ["Too many requests"] and throttled.json()["statusCode"] == 429
    time.sleep(limit.burst / limit.rate)  # the bucket full again for whatever runs next
    assert requests.delete(stack.url("/docs"), timeout=30).status_code == 405
