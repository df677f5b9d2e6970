"""The reads of the live platform's listing: streams by id, a StateIndex or CreatorIndex partition in
creation order, and the creators' participant items."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Optional

from livestream import store
from livestream.store.streams import Stream

# (index, partition key attribute, sort key attribute, partition value prefix) of each listing
_INDEXES = {
    "state": ("StateIndex", "statePk", "stateSk", "STATE#"),
    "creator": ("CreatorIndex", "creatorPk", "creatorSk", "CREATOR#"),
}


def by_ids(stream_ids: Iterable[str]) -> list[Stream]:
    """The streams that exist among ``stream_ids`` (one BatchGetItem per 100)."""
    return [Stream.of(item) for item in store.batch_get(store.stream_key(i) for i in stream_ids) if item.get("sk") == store.META]


def listing(
    by: Literal["state", "creator"], value: str, low: str, high: str, *, descending: bool, page_size: int, max_page_size: int
) -> Iterator[Stream]:
    """The streams of one listing partition (a live-event state, or a creator's user id) created
    between ``low`` and ``high`` (``<createdAt>#<id>`` sort keys, inclusive), newest first when
    ``descending``: a first page of ``page_size``, then pages twice as large up to ``max_page_size``,
    as long as the caller iterates."""
    if low > high:
        return
    index, pk_name, sk_name, prefix = _INDEXES[by]
    items = store.query(
        f"{pk_name} = :pk AND {sk_name} BETWEEN :low AND :high",
        {":pk": f"{prefix}{value}", ":low": low, ":high": high},
        index=index,
        descending=descending,
        page_size=page_size,
        grow_to=max_page_size,
    )
    for item in items:
        if item.get("sk") == store.META:
            yield Stream.of(item)


def creator_parts(streams: Sequence[Stream]) -> dict[str, Optional[dict[str, Any]]]:
    """Each stream's creator's participant item, by stream id (one BatchGetItem per 100)."""
    keys = {s.id: store.part_key(s.id, s.creatorId) for s in streams}
    found = {(p["pk"], p["sk"]): p for p in store.batch_get(keys.values())}
    return {stream_id: found.get((key["pk"], key["sk"])) for stream_id, key in keys.items()}
