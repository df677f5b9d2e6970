"""``livestream.store.parallel``: independent round trips sent at once, answered in order."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from livestream.store import parallel


def test_results_come_in_the_order_asked_whatever_finishes_first():
    assert parallel.each(lambda n: time.sleep(0.001 * (5 - n)) or n * 10, range(5)) == [0, 10, 20, 30, 40]
    assert parallel.run(lambda: "a", lambda: "b") == ["a", "b"]
    assert parallel.each(str, []) == []


def test_no_more_than_the_workers_run_at_once_and_they_do_overlap():
    running, most = [0], [0]
    lock = threading.Lock()

    def call(_):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    parallel.each(call, range(20))
    assert 1 < most[0] <= parallel.WORKERS


def test_a_single_call_runs_in_the_callers_thread():
    assert parallel.each(lambda _: threading.get_ident(), [1]) == [threading.get_ident()]


def test_a_failure_raises_and_what_had_not_started_does_not_start():
    started = []

    def call(n):
        started.append(n)
        if n == 0:
            raise ValueError("boom")
        time.sleep(0.05)  # the 39 others would take a second on two workers

    with pytest.raises(ValueError, match="boom"):
        parallel.each(call, range(40), workers=2)
    assert len(started) < 40


def test_calls_see_the_callers_context_variables():
    acting = contextvars.ContextVar("acting", default="nobody")
    acting.set("PresenceSweepFunction")
    assert parallel.each(lambda _: acting.get(), range(4)) == ["PresenceSweepFunction"] * 4


def test_started_reads_every_first_item_together_then_goes_on_lazily():
    read = []

    def pages(name):
        for n in range(3):
            read.append((name, n))
            yield f"{name}{n}"

    sources = parallel.started([pages("a"), pages("b"), iter(())])
    assert sorted(read) == [("a", 0), ("b", 0)]  # the first of each, nothing more
    assert [list(s) for s in sources] == [["a0", "a1", "a2"], ["b0", "b1", "b2"], []]
