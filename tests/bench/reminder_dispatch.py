"""Benchmark: one stream with 1,000 reminders (BENCH_REMINDERS), dispatched by one invocation.

DynamoDB is moto in-process. SQS is a recording stand-in: moto's FIFO queue checks deduplication
against every message it holds, so its own cost grows with the square of the queue and would
swamp what is measured here. Prints the wall time of our code plus moto's DynamoDB, the SQS calls
(at most one per 10 reminders, every deduplication id distinct) and the DynamoDB calls; with real
SQS add about one SendMessageBatch round trip (~10–20 ms) per 10 reminders.
``python -m tests.bench.reminder_dispatch`` (``make bench`` runs it after the cold-start benchmark).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta, timezone

REMINDERS = int(os.environ.get("BENCH_REMINDERS", "1000"))  # moto applies a transaction by copying the table


def main() -> None:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", POWERTOOLS_METRICS_DISABLED="true")
    from moto import mock_aws

    with mock_aws():
        import pytest

        from livestream import reminders, store
        from livestream.clock import iso
        from tests.support import AwsResources

        monkeypatch = pytest.MonkeyPatch()
        AwsResources.create(monkeypatch, acting_as="ReminderDispatchFunction")  # its environment
        stream_id = "b" * 24
        planned = iso(datetime.now(timezone.utc) + timedelta(minutes=5))
        stream = {
            **store.stream_key(stream_id), "id": stream_id, "title": "Bench", "channelName": "bench-abc123", "status": "scheduled",
            "creatorId": "a" * 24, "creator": {"_id": "a" * 24}, "liveStreamType": "solo", "createdAt": planned, "updatedAt": planned, "plannedStartDate": planned, **store.due_marker(planned, stream_id),
        }  # fmt: skip
        client = store.client()
        client.put_item(TableName=store.table(), Item=store.serialize(stream))
        users = [f"{n:024x}" for n in range(REMINDERS)]
        for start in range(0, len(users), 25):
            requests = [
                {"PutRequest": {"Item": store.serialize({**store.reminder_key(stream_id, u), "userId": u})}} for u in users[start : start + 25]
            ]
            client.batch_write_item(RequestItems={store.table(): requests})

        sqs_calls: list[list[str]] = []
        ddb_calls: list[str] = []

        class RecordingSqs:
            def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
                sqs_calls.append([e["MessageDeduplicationId"] for e in Entries])
                return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

        monkeypatch.setattr(reminders, "_sqs", lambda: RecordingSqs())
        client.meta.events.register("before-call.dynamodb", lambda **kw: ddb_calls.append(kw["model"].name))
        started = time.perf_counter()
        result = reminders.dispatch(time_left_ms=lambda: 300_000)
        took = time.perf_counter() - started
        monkeypatch.undo()

    assert result == {"streams": 1, "sent": REMINDERS, "failed": 0}, result
    dedup_ids = [d for call in sqs_calls for d in call]
    assert len(dedup_ids) == len(set(dedup_ids)) == REMINDERS
    print(f"{REMINDERS} reminders of one stream: sent in {took:.1f} s by one dispatch (moto in-process, python {sys.version.split()[0]})")
    largest = max(len(call) for call in sqs_calls)
    print(f"SQS SendMessageBatch calls: {len(sqs_calls)} (largest batch {largest}); DynamoDB calls: {len(ddb_calls)}")


if __name__ == "__main__":
    from local.cfn import LAYER_DIR

    sys.path.insert(0, str(LAYER_DIR))
    main()
