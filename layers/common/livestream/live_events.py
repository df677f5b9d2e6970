"""``GET /v1/live-events``: streams as the live platform's "live events", filtered and paged.

Mapping: ``live_event_id`` = stream id; ``state`` created (scheduled) / ongoing (active) / ended
(ended or cancelled); ``host_type`` single_host (solo) / multi_host (multi). Times are Unix ms.

Order: newest ``created_at`` first. The query goes to the index of the most selective filter:
ids → one BatchGetItem; ``current_host_user_id`` → that user's MemberIndex entries;
``created_by_user_id(s)`` → CreatorIndex partitions; otherwise StateIndex partitions of the asked
states (all three without ``state``). Several partitions are merged in order. ``created_at`` bounds
narrow the key range; the other filters are applied to the items read, and reading goes on until
the page is full, the partitions are exhausted, or READ_BUDGET items were read (then the page is
shorter but ``next`` still continues from where reading stopped).

Cursors are opaque: URL-safe base64 of the position, direction and filters they were made for,
signed with HMAC-SHA256 (a key derived from the Api-Token secret); a tampered, foreign or
mismatched cursor is a 400.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from livestream import store
from livestream.clock import now, parse_iso, to_millis
from livestream.errors import ApiError
from livestream.ids import is_id

MAX_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: timestamps beyond year 9999 are 400
MAX_COUNT = 2**53 - 1
READ_BUDGET = 2000
QUERY_PAGE = 200
MAX_IDS = 10
STATES = {"created": ["scheduled"], "ready": [], "ongoing": ["active"], "ended": ["ended", "cancelled"]}
HOST_TYPES = {"single_host": "solo", "multi_host": "multi"}
STATE_OF = {"scheduled": "created", "active": "ongoing", "ended": "ended", "cancelled": "ended"}

INVALID, MISSING, UNAUTHORIZED = 400100, 400111, 401121


class PlatformError(ApiError):
    """An error in the live platform's shape: ``{"error": true, "code": ..., "message": ...}``."""

    def __init__(self, message: str, code: int = INVALID) -> None:
        super().__init__(message, status=code // 1000)
        self.code = code
        self.platform_message = message


@dataclass
class Filters:
    host_types: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    created_from: Optional[int] = None  # inclusive, ms
    created_before: Optional[int] = None  # exclusive
    started_from: Optional[int] = None  # inclusive
    started_before: Optional[int] = None  # exclusive
    participants_gte: Optional[int] = None  # inclusive
    participants_lte: Optional[int] = None  # inclusive
    ids: list[str] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)
    duration_gte: Optional[int] = None  # inclusive, ms
    duration_lt: Optional[int] = None  # exclusive ("less than", as the platform words it)
    title_contains: Optional[str] = None
    current_host: Optional[str] = None


def parse_filters(params: dict[str, Any]) -> Filters:
    """Validate the platform's query parameters (already typed by the resolver) into filters."""

    def listed(single: str, plural: str, *, check_id: bool) -> list[str]:
        one, many = params.get(single), params.get(plural)
        if one is not None and many is not None:
            raise PlatformError(f"{single} and {plural} cannot be used together")
        values = [one] if one is not None else _split(many, plural)
        if len(values) > MAX_IDS:
            raise PlatformError(f"{plural}: at most {MAX_IDS} values")
        if check_id:
            bad = [v for v in values if not is_id(v)]
            if bad:
                raise PlatformError(f"{single if one is not None else plural}: {bad[0]!r} is not a valid id")
        return list(dict.fromkeys(values))

    states = _split(params.get("state"), "state")
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise PlatformError(f"state: {unknown[0]!r} is not one of created, ready, ongoing, ended")
    host_types = _split(params.get("host_type"), "host_type")
    unknown = [h for h in host_types if h not in HOST_TYPES]
    if unknown:
        raise PlatformError(f"host_type: {unknown[0]!r} is not one of single_host, multi_host")
    current_host = params.get("current_host_user_id")
    if current_host is not None and not is_id(current_host):
        raise PlatformError(f"current_host_user_id: {current_host!r} is not a valid id")
    for name in ("created_at", "started_at", "participant_count_range", "duration_range"):
        low = params.get(f"{name}_start_date" if name.endswith("_at") else f"{name}_gte")
        high = params.get(f"{name}_end_date" if name.endswith("_at") else f"{name}_lte")
        if low is not None and high is not None and low > high:
            raise PlatformError(f"{name}: the lower bound is greater than the upper bound")
    title = params.get("title_contains")
    return Filters(
        host_types=host_types,
        states=states,
        created_from=params.get("created_at_start_date"),
        created_before=params.get("created_at_end_date"),
        started_from=params.get("started_at_start_date"),
        started_before=params.get("started_at_end_date"),
        participants_gte=params.get("participant_count_range_gte"),
        participants_lte=params.get("participant_count_range_lte"),
        ids=listed("live_event_id", "live_event_ids", check_id=True),
        creators=listed("created_by_user_id", "created_by_user_ids", check_id=True),
        duration_gte=params.get("duration_range_gte"),
        duration_lt=params.get("duration_range_lte"),
        title_contains=title.casefold() if title else None,
        current_host=current_host,
    )


def _split(value: Optional[str], name: str) -> list[str]:
    if value is None:
        return []
    parts = [p.strip() for p in value.split(",")]
    if not all(parts):
        raise PlatformError(f"{name}: empty value in a comma-separated list")
    return parts


def error_body(status: int, errors: list[str], exc: Optional[Exception]) -> dict[str, Any]:
    """Errors in the platform's shape; the message says which parameter was wrong."""
    if isinstance(exc, PlatformError):
        return {"error": True, "code": exc.code, "message": exc.platform_message}
    details = errors[1:] or errors
    code = {400: INVALID, 401: UNAUTHORIZED}.get(status, status * 1000 + 901)
    if status == 400 and all(d.endswith(": field required") for d in details):
        code = MISSING
    return {"error": True, "code": code, "message": "; ".join(details)}


# ---------------------------------------------------------------- cursors


def cursor_key(secret: str) -> bytes:
    """The cursors' HMAC key, derived from a service secret (never the secret itself)."""
    return hashlib.sha256(b"live-events-cursor:" + secret.encode()).digest()


def make_cursor(key: bytes, position: str, direction: str, filters: Filters) -> str:
    payload = json.dumps({"p": position, "d": direction, "f": asdict(filters)}, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def read_cursor(key: bytes, cursor: str, name: str) -> tuple[str, str, Filters]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        signature, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(signature, hmac.new(key, payload, hashlib.sha256).digest()[:16]):
            raise ValueError("bad signature")
        data = json.loads(payload)
        return data["p"], data["d"], Filters(**data["f"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformError(f"{name}: invalid cursor") from exc


# ---------------------------------------------------------------- listing


def list_live_events(params: dict[str, Any], cursor_key: bytes) -> dict[str, Any]:
    if params.get("prev") is not None and params.get("next") is not None:
        raise PlatformError("prev and next cannot be used together")
    filters = parse_filters(params)
    limit = params["limit"]
    position, direction = None, "next"
    for name in ("next", "prev"):
        if params.get(name) is not None:
            position, direction, made_for = read_cursor(cursor_key, params[name], name)
            if direction != name:
                raise PlatformError(f"{name}: invalid cursor")
            if filters != made_for and filters != Filters():
                raise PlatformError(f"{name}: the cursor was made for other filters")
            filters = made_for

    descending = direction == "next"
    reader = _Reader(filters, position, descending)
    found = reader.collect(limit + 1)  # one more than a page tells whether anything lies beyond it
    page = found[:limit]
    # where reading stopped: after the page, or at the last item read when the budget ran out first
    resume_at = _sort_key(page[-1]) if len(found) > limit else reader.last_read
    beyond = len(found) > limit or reader.budget_hit
    if not descending:
        page.reverse()
    parts = {(p["pk"], p["sk"]): p for p in store.batch_get(store.part_key(s["id"], s["creatorId"]) for s in page)}
    events = [to_live_event(s, parts.get(tuple(store.part_key(s["id"], s["creatorId"]).values()))) for s in page]

    came_from = position is not None  # something lies behind the page, where we came from
    newest, oldest = (_sort_key(page[0]), _sort_key(page[-1])) if page else (position, position)
    if descending:
        next_at, prev_at = (resume_at if beyond else None), (newest if came_from else None)
    else:
        next_at, prev_at = (oldest if came_from else None), (resume_at if beyond else None)
    return {
        "live_events": events,
        "next": make_cursor(cursor_key, next_at, "next", filters) if next_at else None,
        "prev": make_cursor(cursor_key, prev_at, "prev", filters) if prev_at else None,
    }


def _sort_key(stream: dict[str, Any]) -> str:
    return f"{stream['createdAt']}#{stream['id']}"


class _Reader:
    """Reads candidate streams in page order from the chosen index, within READ_BUDGET items."""

    def __init__(self, filters: Filters, position: Optional[str], descending: bool) -> None:
        self.filters, self.position, self.descending = filters, position, descending
        self.budget_hit = False
        self.last_read: Optional[str] = position

    def collect(self, wanted: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        current = now()
        for stream in self._candidates():
            key = _sort_key(stream)
            if self.position is not None and (key >= self.position if self.descending else key <= self.position):
                continue
            self.last_read = key
            if _matches(stream, self.filters, current):
                found.append(stream)
                if len(found) == wanted:
                    break
        return found

    def _candidates(self) -> Iterator[dict[str, Any]]:
        filters, descending = self.filters, self.descending
        if filters.ids:
            streams = [s for s in store.batch_get(store.stream_key(i) for i in filters.ids if is_id(i)) if s.get("sk") == store.META]
            yield from sorted(streams, key=_sort_key, reverse=descending)
            return
        if filters.current_host:
            yield from _current_host_streams(filters.current_host, descending)
            return
        if filters.creators:
            partitions = [("CreatorIndex", "creatorPk", "creatorSk", f"CREATOR#{c}") for c in filters.creators]
        else:
            partitions = [("StateIndex", "statePk", "stateSk", f"STATE#{s}") for s in filters.states or list(STATES) if STATES[s]]
        low, high = _key_range(filters, self.position, descending)
        sources = [_query(index, pk_name, sk_name, pk, low, high, descending) for index, pk_name, sk_name, pk in partitions]
        read = 0
        for stream in heapq.merge(*sources, key=_sort_key, reverse=descending):
            if _sort_key(stream) == self.position:
                continue  # the key range is inclusive; the cursor's own item was on the last page
            read += 1
            if read > READ_BUDGET:
                self.budget_hit = True
                return
            yield stream


def _key_range(filters: Filters, position: Optional[str], descending: bool) -> tuple[str, str]:
    low = _iso_ms(filters.created_from) if filters.created_from is not None else "0"
    high = _iso_ms(filters.created_before) if filters.created_before is not None else "9~"
    if position is not None:
        if descending:
            high = min(high, position)
        else:
            low = max(low, position)
    return low, high


def _iso_ms(ms: int) -> str:
    from livestream.clock import iso

    return iso(datetime.fromtimestamp(ms / 1000, tz=timezone.utc)) or ""


def _query(index: str, pk_name: str, sk_name: str, pk: str, low: str, high: str, descending: bool) -> Iterator[dict[str, Any]]:
    if low > high:
        return
    query: dict[str, Any] = {
        "TableName": store.table(),
        "IndexName": index,
        "KeyConditionExpression": f"{pk_name} = :pk AND {sk_name} BETWEEN :low AND :high",
        "ExpressionAttributeValues": store.values({":pk": pk, ":low": low, ":high": high}),
        "ScanIndexForward": not descending,
        "Limit": QUERY_PAGE,
    }
    while True:
        response = store.client().query(**query)
        for item in response.get("Items", []):
            yield store.deserialize(item) or {}
        if "LastEvaluatedKey" not in response:
            return
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _current_host_streams(user_id: str, descending: bool) -> Iterator[dict[str, Any]]:
    """Live or scheduled streams where the user is creator or broadcaster and is streaming now."""
    response = store.client().query(
        TableName=store.table(),
        IndexName="MemberIndex",
        KeyConditionExpression="memberPk = :pk",
        ExpressionAttributeValues=store.values({":pk": f"MEMBER#{user_id}"}),
        Limit=READ_BUDGET,
    )
    ids = [store.deserialize(i)["memberSk"].rsplit("#", 1)[1] for i in response.get("Items", [])]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 50):
        chunk = ids[start : start + 50]
        for item in store.batch_get([*(store.stream_key(i) for i in chunk), *(store.part_key(i, user_id) for i in chunk)]):
            found[item["pk"] + item["sk"]] = item
    streams = []
    for stream_id in ids:
        stream, part = found.get(f"STREAM#{stream_id}META"), found.get("".join(store.part_key(stream_id, user_id).values()))
        hosts = [stream["creatorId"], *stream.get("broadcasterIds", [])] if stream else []
        if stream and user_id in hosts and part and part.get("streaming"):
            streams.append(stream)
    yield from sorted(streams, key=_sort_key, reverse=descending)


# ---------------------------------------------------------------- mapping and filters


def counts(stream: dict[str, Any]) -> tuple[int, int, int]:
    """(current, peak, cumulative) audience; a stream that is not live has no current audience."""
    current = int(stream.get("audienceCount", 0)) if stream["status"] == "active" else 0
    peak = max(int(stream.get("peakAudience", 0)), int(stream.get("audienceCount", 0)))
    return current, peak, int(stream.get("cumulativeAudience", 0))


def duration_ms(stream: dict[str, Any], current: datetime) -> int:
    started = parse_iso(stream.get("startedAt"))
    if started is None:
        return 0
    ended = parse_iso(stream.get("endedAt")) or current
    return max(0, int((ended - started).total_seconds() * 1000))


def _matches(stream: dict[str, Any], f: Filters, current: datetime) -> bool:
    if stream.get("sk") != store.META:
        return False
    state = STATE_OF[stream["status"]]
    created, started = to_millis(parse_iso(stream["createdAt"])), to_millis(parse_iso(stream.get("startedAt")))
    participants = counts(stream)[0]
    duration = duration_ms(stream, current)
    checks = [
        not f.states or state in f.states,
        not f.host_types or stream["liveStreamType"] in [HOST_TYPES[h] for h in f.host_types],
        f.created_from is None or created >= f.created_from,
        f.created_before is None or created < f.created_before,
        f.started_from is None or (started is not None and started >= f.started_from),
        f.started_before is None or (started is not None and started < f.started_before),
        f.participants_gte is None or participants >= f.participants_gte,
        f.participants_lte is None or participants <= f.participants_lte,
        not f.ids or stream["id"] in f.ids,
        not f.creators or stream["creatorId"] in f.creators,
        f.duration_gte is None or duration >= f.duration_gte,
        f.duration_lt is None or duration < f.duration_lt,
        f.title_contains is None or f.title_contains in stream["title"].casefold(),
    ]
    return all(checks)


def to_live_event(stream: dict[str, Any], creator_part: Optional[dict[str, Any]]) -> dict[str, Any]:
    current, peak, cumulative = counts(stream)
    started = stream.get("startedAt")
    ended = stream.get("endedAt")
    return {
        "created_at": to_millis(parse_iso(stream["createdAt"])),
        "created_by": stream["creatorId"],
        "cumulative_participant_count": cumulative,
        "custom_items": {},
        "duration": duration_ms(stream, now()),
        "ended_at": to_millis(parse_iso(ended)),
        "ended_by": stream["creatorId"] if ended else "",
        "host": None,
        "host_type": "single_host" if stream["liveStreamType"] == "solo" else "multi_host",
        "is_host_streaming": bool(creator_part and creator_part.get("streaming")) and stream["status"] == "active",
        "live_event_id": stream["id"],
        "participant_count": current,
        "peak_participant_count": peak,
        "set_ready_at": None,
        "set_ready_by": "",
        "started_at": to_millis(parse_iso(started)),
        "started_by": stream["creatorId"] if started else "",
        "state": STATE_OF[stream["status"]],
        "user_ids_for_host": [stream["creatorId"], *stream.get("broadcasterIds", [])],
        "title": stream["title"],
    }
