"""``make run``: the API on 127.0.0.1:$LOCAL_API_PORT (3000), AWS emulated on 127.0.0.1:$LOCAL_AWS_PORT (5055)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from typing import NoReturn

from local.cfn import Template
from local.emulation import CREDENTIALS, MotoServer, client, create_resources, dev_setting, function_environment, start_moto
from local.http_server import Gateway, serve
from local.schedule import Ticker
from local.streams import StreamPoller, bound_moto_shard_iterators, patch_moto_streams, stream_mappings
from local.workers import MAX_WORKERS, Reaper


def _print_routes(gateway: Gateway) -> None:
    """Each method of the API, the function behind it and the stage's throttle on it."""
    for resource, method, function in gateway.router.table():
        limit = gateway.throttle.limits.get((resource, method))
        throttle = f"{limit.rate:g}/s, burst {limit.burst}" if limit else "account only"
        print(f"  {method:6} {resource:60} {function:34} {throttle}")


def main() -> int:
    api_port = int(os.environ.get("LOCAL_API_PORT", "3000"))
    aws_port = int(os.environ.get("LOCAL_AWS_PORT", "5055"))
    period = float(os.environ.get("LOCAL_SCHEDULE_SECONDS", "60"))
    endpoint = f"http://127.0.0.1:{aws_port}"
    os.environ.update(CREDENTIALS)
    stop = StopSignals()  # from here on, a stop signal stops the stack cleanly (once it has started)

    template = Template.load(Stage="local")
    moto = start_moto(aws_port)
    names = create_resources(template, endpoint)
    api_url = f"http://127.0.0.1:{api_port}"
    environments = {name: function_environment(template, name, endpoint, api_url) for name in template.functions()}
    gateway = Gateway(template, environments, thumbnails=(client("s3", endpoint), names["ThumbnailBucket"]))
    server = serve(gateway, api_port)
    ticker = Ticker(template, period, gateway.invoke)
    ticker.start()
    idle = float(os.environ.get("LOCAL_WORKER_IDLE_SECONDS", "300"))
    reaper = Reaper(list(gateway.pools.values()), idle)
    reaper.start()
    streams = _start_streams(template, names, gateway, endpoint, moto)

    _describe(template, names, endpoint, period, idle)
    for mapping in streams.mappings:
        print(f"  stream: {mapping!r}")
    _print_routes(gateway)
    print(f"API: http://127.0.0.1:{api_port}  (docs: http://127.0.0.1:{api_port}/docs)  Ctrl-C stops", flush=True)

    stop.wait()
    print("stopping", flush=True)
    ticker.stop()
    reaper.stop()
    streams.stop()
    server.shutdown()
    server.server_close()
    gateway.stop()
    moto.stop()
    print("stopped", flush=True)
    return 0


def _start_streams(template: Template, names: dict[str, str], gateway: Gateway, endpoint: str, moto: MotoServer) -> StreamPoller:
    """The template's DynamoDB stream event source mappings, polled from a thread of their own."""
    bound_moto_shard_iterators()
    patch_moto_streams()
    mappings = stream_mappings(template, names, gateway.invoke, lambda service: client(service, endpoint))
    streams = StreamPoller(mappings, trim_lock=moto.lock)
    streams.start()
    return streams


def _describe(template: Template, names: dict[str, str], endpoint: str, period: float, idle: float) -> None:
    """What a developer needs to know of the emulation: where it is, its resources, the dev credentials."""
    print(f"AWS emulation (moto): {endpoint}  region us-east-1, any credentials", flush=True)
    print(f"  tables: {', '.join(names[t] for t in template.resources('AWS::DynamoDB::Table'))}")
    print(f"  bucket: {', '.join(names[b] for b in template.resources('AWS::S3::Bucket'))}")
    print(f"  queues: {', '.join(names[q + '.QueueName'] for q in template.resources('AWS::SQS::Queue'))}")
    print(f"Dev credentials: JWT HS256 secret {dev_setting('LOCAL_JWT_SECRET')!r}, Api-Token {dev_setting('LOCAL_API_TOKEN')!r}")
    print(f"Schedule: every {period:g} s" if period > 0 else "Schedule: off")
    print(f"Function workers: up to {MAX_WORKERS} per function, stopped after {idle:g} s idle" if idle > 0 else "Function workers: kept")


class StopSignals:
    """The first SIGINT (Ctrl-C) or SIGTERM asks the stack to stop; a second one ends the process at once.

    Python runs signal handlers in the main thread, but the kernel may hand a process-wide signal
    to any of its threads (moto's, the HTTP server's, a request's forking a worker): a main thread
    blocked for good on a lock is then never interrupted and never runs the handler, so a busy stack
    ignored SIGTERM. ``wait`` wakes every ``poll`` seconds, so the pending handler runs within that.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stopped = threading.Event()
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.stopped.set()
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)

    def wait(self, poll: float = 0.2) -> None:
        while not self.stopped.wait(poll):
            pass


def leave(code: int) -> NoReturn:
    """End the process without the interpreter's teardown of moto's state (seconds with large tables);
    every server and worker is already stopped: kill a worker that was still starting, flush, exit."""
    for child in multiprocessing.active_children():
        child.kill()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave(main())
