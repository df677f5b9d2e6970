"""Reading candidate streams in page order from the index of the most selective filter.

ids → one BatchGetItem; ``current_host_user_id`` → that user's MemberIndex entries; ``created_by_user_id(s)``
→ CreatorIndex partitions; otherwise StateIndex partitions of the asked states (all of them without
``state``). Several partitions are merged in order, their first pages requested together. ``created_at`` bounds narrow the key range; the
other filters are applied to the items read, and reading goes on until the page is full, the
partitions are exhausted, or READ_BUDGET items were read (then the page is shorter, but ``next`` still
continues from where reading stopped).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Optional

from livestream.clock import iso, now
from livestream.live_events.events import matches
from livestream.live_events.filters import STATES, Filters, statuses
from livestream.store import live_events as stored
from livestream.store import parallel
from livestream.store import streams as stored_streams
from livestream.store.streams import Stream

# streams read for one page at most: a page of rare matches answers short (with `next`) rather than
# reading a whole index within the function's timeout
READ_BUDGET = 2000
# items per Query: the first asks for what the page needs (a listing without filters reads no more than
# it answers, whatever the number of streams), each next one twice as many, up to QUERY_PAGE
QUERY_PAGE = 200
HOST_CHUNK = 50  # streams per BatchGetItem of a current host (each with its participant: 100 keys)
LOWEST, HIGHEST = "0", "9~"  # below and above every `<createdAt>#<id>` sort key


def sort_key(stream: Stream) -> str:
    """The position of a stream in the listing (and in the cursors): ``<createdAt>#<id>``."""
    return f"{stream.createdAt}#{stream.id}"


class Reader:
    """Reads candidate streams in page order from the chosen index, within READ_BUDGET items."""

    def __init__(self, filters: Filters, position: Optional[str], descending: bool) -> None:
        self.filters, self.position, self.descending = filters, position, descending
        self.budget_hit = False
        self.last_read: Optional[str] = position
        self.first_page = QUERY_PAGE

    def collect(self, wanted: int) -> list[Stream]:
        """Up to ``wanted`` streams past the position that match the filters, in page order."""
        found: list[Stream] = []
        current = now()
        self.first_page = min(QUERY_PAGE, wanted)
        for stream in self._candidates():
            key = sort_key(stream)
            if self.position is not None and (key >= self.position if self.descending else key <= self.position):
                continue
            self.last_read = key
            if matches(stream, self.filters, current):
                found.append(stream)
                if len(found) == wanted:
                    break
        return found

    def _candidates(self) -> Iterator[Stream]:
        filters, descending = self.filters, self.descending
        if filters.ids:
            yield from sorted(stored.by_ids(filters.ids), key=sort_key, reverse=descending)
        elif filters.current_host:
            yield from _current_host_streams(filters.current_host, descending)
        else:
            yield from self._indexed()

    def _pages(self) -> dict[str, int]:
        return {"page_size": self.first_page, "max_page_size": QUERY_PAGE}

    def _indexed(self) -> Iterator[Stream]:
        """The merged partitions of the creators or states asked, within READ_BUDGET."""
        low, high = _key_range(self.filters, self.position, self.descending)
        descending = self.descending
        if self.filters.creators:
            sources = [stored.listing("creator", c, low, high, descending=descending, **self._pages()) for c in self.filters.creators]
        else:
            states = [s for s in self.filters.states or STATES if statuses(s)]
            sources = [stored.listing("state", s, low, high, descending=descending, **self._pages()) for s in states]
        read = 0
        # merging reads the first page of every partition before it yields: those are requested together
        for stream in heapq.merge(*parallel.started(sources), key=sort_key, reverse=self.descending):
            if sort_key(stream) == self.position:
                continue  # the key range is inclusive; the cursor's own item was on the last page
            read += 1
            if read > READ_BUDGET:
                self.budget_hit = True
                return
            yield stream


def _key_range(filters: Filters, position: Optional[str], descending: bool) -> tuple[str, str]:
    low = _iso_ms(filters.created_from) if filters.created_from is not None else LOWEST
    high = _iso_ms(filters.created_before) if filters.created_before is not None else HIGHEST
    if position is not None:
        if descending:
            high = min(high, position)
        else:
            low = max(low, position)
    return low, high


def _iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, tz=UTC)) or ""


def _current_host_streams(user_id: str, descending: bool) -> Iterator[Stream]:
    """Live or scheduled streams where the user is creator or broadcaster and is streaming now."""
    ids = stored_streams.member_ids(user_id, READ_BUDGET)
    streams = [
        stream
        for stream, part in stored_streams.pairs(ids, user_id, HOST_CHUNK)
        if stream is not None and user_id in stream.hosts and part and part.get("streaming")
    ]
    yield from sorted(streams, key=sort_key, reverse=descending)
