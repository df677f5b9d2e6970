"""Independent DynamoDB round trips sent at once: the sweep's ExpiryIndex shards, the dispatcher's DueIndex
days, a user's live and scheduled streams, the first page of each listing partition, the search index's
writes. botocore clients are thread-safe; each worker takes a connection from the client's pool (10).

A pool is made per call and gone when it returns (under a millisecond for 8 threads here; no thread is
left running between invocations, nor captured in a SnapStart snapshot). In Lambda the X-Ray SDK
records a worker's calls under the invocation's trace, beside the handler's subsegment rather than
inside it. Each call runs in a copy of the caller's context variables. A failure raises once the calls
under way are done.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# at most this many calls under way: below the client's 10 pooled connections, so none is opened and
# thrown away; DynamoDB serves them in parallel, the function's CPU only builds and parses them
WORKERS = 8


def each(call: Callable[[T], R], items: Sequence[T], workers: int = WORKERS) -> list[R]:
    """``call`` on every item, ``workers`` at a time, the results in the order of ``items`` (one item:
    called here, no thread). After a failure no further item is started; the first failure raises once
    the calls under way are done."""
    if len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        # each call in a copy of the caller's context (context variables: what the caller set applies)
        futures = [pool.submit(contextvars.copy_context().run, call, item) for item in items]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # after a failure, what has not started does not start


def run(*calls: Callable[[], R]) -> list[R]:
    """Each call at once; their results in order."""
    return each(lambda call: call(), calls)


def started(iterators: Iterable[Iterator[T]]) -> list[Iterator[T]]:
    """The iterators, each with its first item read already, all at once (for lazily paged queries: every
    first page requested together); each goes on lazily, in the caller's thread."""
    pending = list(iterators)
    firsts = each(lambda iterator: list(itertools.islice(iterator, 1)), pending)
    return [itertools.chain(first, rest) for first, rest in zip(firsts, pending, strict=True)]
