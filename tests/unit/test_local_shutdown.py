"""``make run`` stops on the first SIGTERM or SIGINT, whichever of its threads the kernel hands it to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from local.cfn import ROOT

# SIGTERM blocked in the main thread only: the kernel delivers it to the other thread, as it may
# in a busy stack (a request thread forking a worker dequeues it). Python still runs the handler in
# the main thread, but only once the main thread wakes up.
PROGRAM = textwrap.dedent(
    """
    import signal, sys, threading
    from local.run import StopSignals

    started = threading.Event()
    def other():
        started.set()
        threading.Event().wait(60)
    threading.Thread(target=other, daemon=True).start()
    started.wait()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    stop = StopSignals()
    print("waiting", flush=True)
    stop.wait()
    print("stopped", flush=True)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_taken_by_another_thread_still_stops_the_stack(signum):
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        assert process.stdout.readline().strip() == "waiting"
        process.send_signal(signum)
        out, _ = process.communicate(timeout=5)
        assert out.strip() == "stopped" and process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
