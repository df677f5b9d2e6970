"""``make run``: the API on 127.0.0.1:$LOCAL_API_PORT (3000), AWS emulated on 127.0.0.1:$LOCAL_AWS_PORT (5055)."""

from __future__ import annotations

import os
import signal
import sys
import threading

from local.cfn import Template
from local.emulation import CREDENTIALS, client, create_resources, dev_setting, function_environment, start_moto
from local.http_server import Gateway, serve
from local.schedule import Ticker
from local.streams import StreamPoller, bound_moto_shard_iterators, patch_moto_streams, stream_mappings


def main() -> int:
    api_port = int(os.environ.get("LOCAL_API_PORT", "3000"))
    aws_port = int(os.environ.get("LOCAL_AWS_PORT", "5055"))
    period = float(os.environ.get("LOCAL_SCHEDULE_SECONDS", "60"))
    endpoint = f"http://127.0.0.1:{aws_port}"
    os.environ.update(CREDENTIALS)

    template = Template.load(Stage="local")
    moto = start_moto(aws_port)
    names = create_resources(template, endpoint)
    api_url = f"http://127.0.0.1:{api_port}"
    environments = {name: function_environment(template, name, endpoint, api_url) for name in template.functions()}
    gateway = Gateway(template, environments, thumbnails=(client("s3", endpoint), names["ThumbnailBucket"]))
    server = serve(gateway, api_port)
    ticker = Ticker(template, period, gateway.invoke)
    ticker.start()
    bound_moto_shard_iterators()
    patch_moto_streams()
    mappings = stream_mappings(template, names, gateway.invoke, lambda service: client(service, endpoint))
    streams = StreamPoller(mappings, trim_lock=moto.lock)
    streams.start()

    print(f"AWS emulation (moto): {endpoint}  region us-east-1, any credentials", flush=True)
    print(f"  tables: {', '.join(names[t] for t in template.resources('AWS::DynamoDB::Table'))}")
    print(f"  bucket: {', '.join(names[b] for b in template.resources('AWS::S3::Bucket'))}")
    print(f"  queues: {', '.join(names[q + '.QueueName'] for q in template.resources('AWS::SQS::Queue'))}")
    print(f"Dev credentials: JWT HS256 secret {dev_setting('LOCAL_JWT_SECRET')!r}, Api-Token {dev_setting('LOCAL_API_TOKEN')!r}")
    print(f"Schedule: every {period:g} s" if period > 0 else "Schedule: off")
    for mapping in streams.mappings:
        print(f"  stream: {mapping!r}")
    for resource, method, function in gateway.router.table():
        print(f"  {method:6} {resource:60} {function}")
    print(f"API: http://127.0.0.1:{api_port}  (docs: http://127.0.0.1:{api_port}/docs)  Ctrl-C stops", flush=True)

    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("stopping", flush=True)
    ticker.stop()
    streams.stop()
    server.shutdown()
    server.server_close()
    gateway.stop()
    moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
