"""Benchmark: items read by one viewers request — page 1, page 50 and a search — at 1,000 and at 100,000
viewers of one stream (``python -m tests.bench.viewer_reads``; ``make bench`` runs it).

The audience is written straight into moto's table (participants with their AudienceIndex entries, the
counters and the newest-viewers window as the aggregator leaves them, and each viewer's search index entry
and count under the prefix searched, as AudienceSearchFunction leaves them: every viewer is a Deniz, so
``den`` matches the whole audience; the other prefixes of their names are never read by these requests),
then ``participants.viewers`` — the real request code — runs against it with the DynamoDB client metered:
an item read is a key asked of GetItem / BatchGetItem, or an item a Query examined (``ScannedCount``: what
a filter drops is read too).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import Any

SIZES = tuple(int(s) for s in os.environ.get("BENCH_VIEWER_SIZES", "1000,100000").split(","))
LIMIT = 20
SEARCH = "den"  # a prefix of every viewer's name
REQUESTS = (("page 1", 1, None), ("page 50", 50, None), ("search p1", 1, SEARCH), ("search p50", 50, SEARCH), ("no match", 1, "zz"))


def measure(size: int) -> dict[str, int]:
    from moto import mock_aws

    with mock_aws():
        import pytest
        from moto.dynamodb.models import dynamodb_backends

        from livestream import aggregator, participants, store
        from livestream.store import audience
        from local.cfn import ACCOUNT, REGION
        from tests.support import Api, AwsResources

        monkeypatch = pytest.MonkeyPatch()
        api = Api(AwsResources.create(monkeypatch))
        host = "a" * 24
        api.add_user(host)
        stream_id = api.create(host, title="Crowded").data["id"]
        backend = dynamodb_backends[ACCOUNT][REGION]
        table = store.table()
        newest: list[str] = []
        for n in range(size):
            user = f"{0xD0000000 + n:024x}"
            joined = f"2026-12-01T18:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"
            sort_key = f"{joined}#{user}"
            item = {
                **store.part_key(stream_id, user),
                "userId": user,
                "uid": n + 1,
                "watching": True,
                "everWatched": True,
                "joinedAt": joined,
                "audiencePk": store.audience_partition(stream_id, store.audience_shard(user)),
                "audienceSk": sort_key,
                "searchText": f"deniz yilmaz\nu{n}",
            }
            backend.put_item(table, store.serialize(item))
            pk, sk = audience.search_entry_key(stream_id, SEARCH, sort_key)
            backend.put_item(table, store.serialize({"pk": pk, "sk": sk}))
            newest.append(sort_key)
        backend.put_item(table, store.serialize({**audience.search_count_key(stream_id, SEARCH), "n": size}))
        window = sorted(newest, reverse=True)[: aggregator.WINDOW_KEEP]
        backend.put_item(table, store.serialize({**store.window_key(stream_id), "entries": window}))
        store.client().update_item(
            TableName=table,
            Key=store.serialize(store.stream_key(stream_id)),
            UpdateExpression="SET audienceCount = :n, peakAudience = :n, cumulativeAudience = :n",
            ExpressionAttributeValues=store.values({":n": size}),
        )

        client = store.client()
        read = Counter()
        real = {name: getattr(client, name) for name in ("get_item", "batch_get_item", "query")}

        def get_item(**request: Any) -> Any:
            read["items"] += 1
            return real["get_item"](**request)

        def batch_get_item(**request: Any) -> Any:
            read["items"] += sum(len(asked["Keys"]) for asked in request["RequestItems"].values())
            return real["batch_get_item"](**request)

        def query(**request: Any) -> Any:
            response = real["query"](**request)
            read["items"] += response.get("ScannedCount", len(response.get("Items", [])))
            return response

        for name, wrapper in (("get_item", get_item), ("batch_get_item", batch_get_item), ("query", query)):
            monkeypatch.setattr(client, name, wrapper)
        results = {}
        for label, page, search in REQUESTS:
            read.clear()
            participants.viewers(stream_id, host, page, LIMIT, search)
            results[label] = read["items"]
        monkeypatch.undo()
        return results


def bound(page: int, search: str) -> int:
    """The most a search can read: the stream, the caller and the count, ``page × limit`` entries of each
    shard of its prefix key, the page's profiles and follow edges."""
    from livestream.store import audience

    return 3 + audience.SEARCH_SHARDS * page * LIMIT + 2 * LIMIT


def main() -> None:
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
        POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="Bench", POWERTOOLS_SERVICE_NAME="bench", POWERTOOLS_LOG_LEVEL="WARNING",
    )  # fmt: skip
    started = time.perf_counter()
    measured = {size: measure(size) for size in SIZES}
    print(f"viewers: DynamoDB items read per request (limit {LIMIT}), at {' and '.join(f'{s:,}' for s in SIZES)} viewers:")
    for label, page, search in REQUESTS:
        figures = [measured[size][label] for size in SIZES]
        verdict = "equal" if len(set(figures)) == 1 else "grows with the audience"
        if search and len(set(figures)) > 1 and max(figures) <= bound(page, search):  # fewer matches than a shard's Limit at the smaller size
            verdict = f"fewer matches at {min(SIZES):,}; at most {bound(page, search):,} at any size"
        what = f"  (search {search!r})" if search else ""
        print(f"  {label:10} " + "  ".join(f"{f:>7,}" for f in figures) + f"   ({verdict}){what}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    from local.cfn import LAYER_DIR

    sys.path.insert(0, str(LAYER_DIR))
    main()
