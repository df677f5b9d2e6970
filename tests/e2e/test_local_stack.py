"""``make run``'s lifecycle: SIGTERM to its process group stops it cleanly and quickly, also while busy."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import pytest
import requests

from tests.bench.local_stack import Client, LocalStack
from tests.e2e.conftest import OUTPUT

pytestmark = pytest.mark.e2e


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: only a listener holds the port
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_sigterm_to_the_process_group_of_a_busy_stack_stops_all_of_it():
    stack = LocalStack.start(OUTPUT / "local-stack-sigterm.log")
    try:
        stream_id = Client(stack).stream()
        joined, stop = [], threading.Event()

        def load(first_user: int) -> None:
            client = Client(stack)
            for n in range(first_user, first_user + 10_000):
                if stop.is_set():
                    return
                try:
                    client.join(stream_id, client.user(n))
                except (RuntimeError, requests.RequestException):
                    return  # the stack is going away
                joined.append(n)

        threads = [threading.Thread(target=load, args=(k * 100_000,), daemon=True) for k in range(1, 7)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(joined) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(joined) >= 12, stack.log.read_text()[-3000:]

        elapsed = stack.terminate(timeout=20)  # six clients still sending requests
        stop.set()

        assert stack.process.returncode == 0, stack.log.read_text()[-3000:]  # the handler ran: a clean stop, not a kill
        assert elapsed < 10
        deadline = time.monotonic() + 5
        while group_alive(stack.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_alive(stack.process.pid)  # function workers included
        assert port_free(stack.api_port) and port_free(stack.aws_port)
        assert "\nstopped\n" in stack.log.read_text()
    finally:
        stop.set()
        with contextlib.suppress(ProcessLookupError):
            if stack.process.poll() is None or group_alive(stack.process.pid):
                stack.kill()
