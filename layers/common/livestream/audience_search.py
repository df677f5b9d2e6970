"""Searching a stream's audience by word prefix, at a cost that does not grow with the audience.

What matches: a viewer matches a search when their name, surname or username — or a word of them —
starts with it, both sides folded as channel names are (lowercase, Turkish letters folded, accents
stripped: ``I``, ``ı`` and ``i`` match) and runs of spaces read as one. A search may hold spaces: it then
matches words in a row of the name and surname (``ali ve`` finds Ali Veli, whether Veli is a second name
or the surname). A word starts at the field's start or at a letter or digit after anything else
(``cem`` finds the username ``u_cem``; ``_cem`` does not).

The index: for every word start of a viewer's fields, every prefix of the text from there (1 to
PREFIX_CAP characters, not ending in a space unless PREFIX_CAP long: the search ``mehmetali y`` reads
``mehmetali ``) has an entry ``<joinedAt>#<userId>`` under its key, sharded by the viewer
(:mod:`livestream.store.audience`), and a count. A search of up to PREFIX_CAP characters reads its key's
newest ``page × limit`` entries of each shard and the count: a fixed number of items at any audience
size, and an exact ``totalItems`` once settled. A longer search reads its first PREFIX_CAP characters'
key the same way (and the next page's entries) and keeps the entries with a word starting with the whole search (kept in those
entries' ``terms``): viewers sharing the first PREFIX_CAP characters beyond what is read are not looked
at, and ``totalItems`` counts the matches among what was read.

The index is kept by AudienceSearchFunction from the participants' records on the table's stream
(:func:`apply`), never on the request path: a join or leave writes only its participant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from livestream.slug import fold
from livestream.store import audience

PREFIX_CAP = 10  # index keys per word start: prefixes of 1..10 characters
SEARCH_MAX = 50  # the longest search; a word's stored text is cut there

Entries = dict[audience.Key, Optional[dict[str, Any]]]
Counts = dict[tuple[str, str, str], list[int]]  # (stream, prefix, partition) → [delta, first, last]


def search_text(profile: Optional[dict[str, Any]]) -> str:
    """What a participant keeps to be found: the folded ``name surname`` and username, a line each."""
    if not profile:
        return ""
    name = f"{profile.get('name') or ''} {profile.get('surname') or ''}"
    return "\n".join(normalize(field) for field in (name, str(profile.get("username") or "")))


def normalize(text: str) -> str:
    """Folded (as channel names), runs of whitespace as one space, trimmed."""
    return " ".join(fold(text).split())


def words(text: str) -> set[str]:
    """The text of each field of ``text`` (lines) from each of its word starts, at most SEARCH_MAX long."""
    found: set[str] = set()
    for field in (normalize(line) for line in text.split("\n")):
        starts = [0] + [i for i in range(1, len(field)) if field[i].isalnum() and not field[i - 1].isalnum()]
        found.update(field[i : i + SEARCH_MAX] for i in starts if field[i:])
    return found


def prefixes(text: str) -> dict[str, list[str]]:
    """Each index prefix of ``text`` → the words it was cut from when it is PREFIX_CAP long (else ``[]``)."""
    found: dict[str, set[str]] = {}
    for word in words(text):
        for length in range(1, min(len(word), PREFIX_CAP) + 1):
            if length == PREFIX_CAP or not word[length - 1].isspace():  # a longer search reads the last one
                found.setdefault(word[:length], set()).update([word] if length == PREFIX_CAP else [])
    return {prefix: sorted(kept) for prefix, kept in found.items()}


def matches(terms: Iterable[str], search: str) -> bool:
    return any(term.startswith(search) for term in terms)


# ---------------------------------------------------------------- the request: one search


def search(stream_id: str, text: str, wanted: int, ahead: int = 0) -> tuple[list[str], int]:
    """The newest ``wanted`` matches (audience sort keys ``<joinedAt>#<userId>``) and ``totalItems``. A
    search longer than PREFIX_CAP has no count: it reads ``ahead`` more entries (the next page's), so that
    its ``totalItems`` shows a next page when one has matches."""
    query = normalize(text)[:SEARCH_MAX]
    if not query:
        return [], 0
    key = query[:PREFIX_CAP]
    if len(query) <= PREFIX_CAP:
        found = audience.search_entries(stream_id, key, wanted)
        return [entry["sort"] for entry in found], audience.search_count(stream_id, key)
    found = audience.search_entries(stream_id, key, wanted + ahead)
    kept = [entry["sort"] for entry in found if matches(entry["terms"], query)]
    return kept, len(kept)


# ---------------------------------------------------------------- the stream: keeping the index


@dataclass(frozen=True)
class Change:
    """What one participant record does to the index: the entry it had (``before``) and has (``after``),
    each ``(sort key, search text)`` while watching, else ``None``."""

    stream_id: str
    partition: str  # ``P<n>``: the participant partition, whose records arrive in order
    sequence: int
    before: Optional[tuple[str, str]]
    after: Optional[tuple[str, str]]


def change_of(record: dict[str, Any]) -> Optional[Change]:
    """The index change a stream record (Lambda's JSON) carries; ``None`` for anything else."""
    part = audience.part_record(record)
    if part is None:
        return None
    before, after = _entry(part.old), _entry(part.new)
    if before == after:
        return None
    return Change(part.stream_id, part.partition, part.sequence, before, after)


def _entry(state: audience.PartState) -> Optional[tuple[str, str]]:
    return (state.sort_key, state.search_text) if state.sort_key else None


def apply(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Bring the index up to a batch of stream records (in the order the mapping delivered them): each
    entry's final state written (idempotent) and, sent together with those writes, each count's net change
    per participant partition (exactly once: :func:`livestream.store.audience.add_search_count`). A failure raises: the mapping
    retries the batch, and the retry writes the same entries and skips the counts already added."""
    entries: Entries = {}
    counts: Counts = {}
    changes = [c for c in map(change_of, records) if c is not None]
    for change in changes:
        if change.before:
            _index(entries, counts, change, change.before, None)
        if change.after:
            _index(entries, counts, change, change.after, 1)
    requests, added = audience.write_search_index(
        entries, [(stream, prefix, partition, delta, (first, last)) for (stream, prefix, partition), (delta, first, last) in counts.items() if delta]
    )
    return {"changes": len(changes), "entries": len(entries), "writeRequests": requests, "countsAdded": added}


def _index(entries: Entries, counts: Counts, change: Change, entry: tuple[str, str], put: Optional[int]) -> None:
    sort_key, text = entry
    for prefix, terms in prefixes(text).items():
        entries[audience.search_entry_key(change.stream_id, prefix, sort_key)] = None if put is None else ({"terms": terms} if terms else {})
        count = counts.setdefault((change.stream_id, prefix, change.partition), [0, change.sequence, change.sequence])
        count[0] += 1 if put else -1
        count[2] = change.sequence
