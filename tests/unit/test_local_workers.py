"""The local stack's function workers: idle ones are stopped, as Lambda recycles idle environments."""

from __future__ import annotations

import time

from local.cfn import Template
from local.emulation import function_environment
from local.routing import Router, proxy_event
from local.workers import FunctionPool


def test_workers_idle_for_longer_than_the_limit_are_stopped_and_replaced_on_demand():
    template = Template.load(Stage="local")
    name = "RouteNotFoundFunction"
    pool = FunctionPool(template.functions()[name], function_environment(template, name, "http://127.0.0.1:9", "http://127.0.0.1:9"))
    match = Router.from_template(template).match("GET", "/no/such/route")
    event = proxy_event(match, "GET", "/no/such/route", "", [], b"", [])
    try:
        status, reply = pool.invoke(event)
        assert status == "ok" and reply["statusCode"] == 404
        worker = pool._all[0]
        assert pool.reap(60) == 0 and worker.process.is_alive()  # used just now: kept
        time.sleep(0.2)
        assert pool.reap(0.1) == 1 and not worker.process.is_alive() and pool._all == []
        status, reply = pool.invoke(event)  # a new worker starts for the next request
        assert status == "ok" and reply["statusCode"] == 404 and pool._all[0] is not worker
    finally:
        pool.stop()
