"""Hostile input, class by class, against every endpoint that takes input: each member of a class is a
clear 4xx in the envelope naming the field (the platform's shape on /v1/live-events), never a 5xx.

Classes: deeply nested or huge JSON, huge or non-finite numbers, lone surrogates and invalid UTF-8 (in
JSON and in multipart names and values), C0/C1 controls, zero-width-only text, type confusion,
mismatched or truncated multipart, out-of-range dates, malformed ids in id lists, non-ASCII or
scientific numbers where plain decimals are expected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from livestream.clock import iso
from tests.support import API_TOKEN, Reply, multipart, user_id

CREATOR, GUEST, VIEWER = user_id(0xA1), user_id(0xA2), user_id(0xA3)
CREATE = "/api/v1/live-stream/create"
JOINS = ["/api/v1/live-stream/join-as-audience", "/api/v1/live-stream/join-as-guest", "/api/v1/live-stream/join-as-broadcaster"]
SOON = iso(datetime.now(UTC) + timedelta(days=1))


@pytest.fixture
def world(api):
    for uid in (CREATOR, GUEST, VIEWER):
        api.add_user(uid)
    stream = api.create(CREATOR, title="Live", guests=[GUEST])
    assert stream.status == 201, stream.json
    return stream.data


def assert_400(reply: Reply, field: str) -> None:
    """400 in the envelope, errors[0] canonical, a detail naming ``field``; the answer encodes as UTF-8."""
    assert reply.status == 400, (field, reply.status, reply.json)
    assert reply.json["isSuccess"] is False and reply.json["data"] is None and reply.json["statusCode"] == 400
    assert reply.errors[0] == "Validation failed"
    assert any(detail.startswith(f"{field}:") for detail in reply.errors[1:]), (field, reply.errors)
    json.dumps(reply.json, ensure_ascii=False).encode("utf-8")  # a lone surrogate echoed back would fail here


def raw_json(api, path: str, text: str | bytes, *, user: str | None = CREATOR, method: str = "POST", **kw: Any) -> Reply:
    return api.request(method, path, body=text, headers={"Content-Type": "application/json"}, user=user, **kw)


def form(api, fields: dict[str, Any], *, user: str = CREATOR) -> Reply:
    body, content_type = multipart(fields)
    return api.post(CREATE, body=body, headers={"Content-Type": content_type}, user=user)


def form_raw(api, body: bytes, content_type: str = "multipart/form-data; boundary=XyZ") -> Reply:
    return api.post(CREATE, body=body, headers={"Content-Type": content_type}, user=CREATOR)


def part(name: bytes, value: bytes, boundary: bytes = b"XyZ") -> bytes:
    return b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"


def closing(boundary: bytes = b"XyZ") -> bytes:
    return b"--" + boundary + b"--\r\n"


# ---------------------------------------------------------------- JSON: depth, size, numbers, encoding


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_deeper_than_32_levels_is_400_on_every_json_endpoint(api, world):
    bodies = [
        '{"title": "x", "extra": ' + _nested(32) + "}",  # 33 levels with the object
        '{"title": "x", "extra": ' + _nested(5000) + "}",  # beyond the interpreter's recursion limit
        '{"title": "x", "extra": ' + '{"a":' * 40 + "1" + "}" * 40 + "}",
        _nested(200_000),
    ]
    for text in bodies:
        assert_400(raw_json(api, CREATE, text), "body")
        for path in JOINS:
            assert_400(raw_json(api, path, text.replace('"title": "x"', f'"liveStreamId": "{world["id"]}"')), "body")
        assert_400(raw_json(api, f"/internal/v1/users/{VIEWER}", text, user=None, method="PUT", api_token=API_TOKEN), "body")
    ok = '{"title": "x", "extra": ' + _nested(31) + "}"  # 32 levels: allowed (and ignored)
    assert raw_json(api, CREATE, ok).status == 201


def test_huge_and_non_finite_numbers_are_400(api, world):
    for number in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 5000, "9007199254740992", "1" + "0" * 30, "1e300"]:
        assert_400(raw_json(api, CREATE, f'{{"title": "x", "price": {number}}}'), "body")
        assert_400(raw_json(api, CREATE, f'{{"title": "x", "durationGoal": {number}}}'), "body")
        reply = raw_json(
            api,
            f"/internal/v1/users/{VIEWER}",
            f'{{"username": "u", "name": "n", "surname": "s", "followersCount": {number}}}',
            user=None,
            method="PUT",
            api_token=API_TOKEN,
        )
        assert_400(reply, "body")
    assert_400(raw_json(api, JOINS[0], f'{{"liveStreamId": "{world["id"]}", "x": NaN}}'), "body")


def test_json_that_is_not_utf8_is_400(api, world):
    for raw in [b'{"title": "caf\xe9"}', b'{"title": "\xff\xfe"}', b'{"title": "\xed\xa0\x80"}', b'{"title": "\xc0\xaf"}', b"\xfe\xff\x00{"]:
        assert_400(raw_json(api, CREATE, raw), "body")
        assert_400(raw_json(api, JOINS[0], raw), "body")
        assert_400(raw_json(api, f"/internal/v1/users/{VIEWER}", raw, user=None, method="PUT", api_token=API_TOKEN), "body")


def test_lone_surrogates_in_json_strings_are_400_naming_the_field(api, world):
    for escaped in ["\\ud800", "\\udfff", "a\\udc00b", "\\ud83d", "\\ude00\\ud83d"]:
        assert_400(raw_json(api, CREATE, f'{{"title": "{escaped}"}}'), "title")
        assert_400(raw_json(api, CREATE, f'{{"title": "x", "motivation": "{escaped}"}}'), "motivation")
        assert_400(raw_json(api, CREATE, f'{{"title": "x", "guests": ["{escaped}"]}}'), "guests")
        assert_400(raw_json(api, JOINS[0], f'{{"liveStreamId": "{escaped}"}}'), "liveStreamId")
        profile = f'{{"username": "{escaped}", "name": "n", "surname": "s"}}'
        assert_400(raw_json(api, f"/internal/v1/users/{VIEWER}", profile, user=None, method="PUT", api_token=API_TOKEN), "username")
        profile = f'{{"username": "u", "name": "n", "surname": "s", "profilePhoto": {{"url": "{escaped}"}}}}'
        assert_400(raw_json(api, f"/internal/v1/users/{VIEWER}", profile, user=None, method="PUT", api_token=API_TOKEN), "profilePhoto.url")
        # an unknown key made of one: named (escaped) in the answer, which still encodes
        profile = f'{{"username": "u", "name": "n", "surname": "s", "{escaped}": 1}}'
        assert raw_json(api, f"/internal/v1/users/{VIEWER}", profile, user=None, method="PUT", api_token=API_TOKEN).status == 400
    # a valid pair is one character, and fine
    assert raw_json(api, CREATE, '{"title": "\\ud83d\\ude00 party"}').status == 201


# ---------------------------------------------------------------- text: controls, zero-width


CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]


def test_control_characters_are_400_in_every_text_field(api, world):
    for c in [*CONTROLS, "\n", "\r", "\t"]:
        assert_400(api.create(CREATOR, title=f"a{c}b"), "title")
        assert_400(api.create(CREATOR, title="x", interest=f"music{c}"), "interest")
        assert_400(api.create(CREATOR, title="x", plannedStartDate=SOON + c), "plannedStartDate")
        assert_400(
            api.put(f"/internal/v1/users/{VIEWER}", json_body={"username": f"u{c}", "name": "n", "surname": "s"}, api_token=API_TOKEN), "username"
        )
        assert_400(
            api.put(f"/internal/v1/users/{VIEWER}", json_body={"username": "u", "name": "n", "surname": "s", "expertise": c}, api_token=API_TOKEN),
            "expertise",
        )
    for c in CONTROLS:
        assert_400(api.create(CREATOR, title="x", motivation=f"line{c}"), "motivation")
        assert_400(form(api, {"title": f"a{c}b"}), "title")


def test_only_motivation_may_hold_line_breaks_and_tabs(api, world):
    reply = api.create(CREATOR, title="x", motivation="first line\nsecond\r\n\tindented")
    assert reply.status == 201 and reply.data["motivation"] == "first line\nsecond\r\n\tindented"


@pytest.mark.parametrize(
    "title",
    [
        "\u200b",  # zero width space
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width (non-)joiners, word joiner, BOM
        " \u00ad ",  # a soft hyphen between spaces
        "\u2061\u2062\u2063\u2064",  # invisible operators
        "\u202e\u202d",  # bidi overrides
        "\u3164",  # Hangul filler
        "\u2800\u2800",  # blank Braille
        "\u3000\u2003",  # ideographic and em spaces
        "\u0301",  # a combining mark alone
    ],
)
def test_a_title_without_a_visible_character_is_empty(api, world, title):
    assert_400(api.create(CREATOR, title=title), "title")
    assert_400(form(api, {"title": title}), "title")


# ---------------------------------------------------------------- type confusion


def test_json_types_are_exact(api, world):
    cases = [
        ({"title": True}, "title"),
        ({"title": 12}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": {"x": 1}}, "title"),
        ({"title": "x", "price": True}, "price"),
        ({"title": "x", "price": "9.99"}, "price"),
        ({"title": "x", "price": [9.99]}, "price"),
        ({"title": "x", "durationGoal": True}, "durationGoal"),
        ({"title": "x", "durationGoal": "60"}, "durationGoal"),
        ({"title": "x", "durationGoal": 60.5}, "durationGoal"),
        ({"title": "x", "guests": f'["{GUEST}"]'}, "guests"),
        ({"title": "x", "guests": {"0": GUEST}}, "guests"),
        ({"title": "x", "guests": [1]}, "guests"),
        ({"title": "x", "guests": True}, "guests"),
        ({"title": "x", "liveStreamType": 1}, "liveStreamType"),
        ({"title": "x", "liveStreamType": ["solo"]}, "liveStreamType"),
        ({"title": "x", "motivation": 5}, "motivation"),
        ({"title": "x", "interest": False}, "interest"),
        ({"title": "x", "plannedStartDate": 1767225600}, "plannedStartDate"),
        ({"title": "x", "plannedStartDate": "1767225600"}, "plannedStartDate"),
    ]
    for body, field in cases:
        assert_400(api.post(CREATE, json_body=body, user=CREATOR), field)
    for value in [123, True, None, [world["id"]], {"id": world["id"]}, 1.5]:
        for path in JOINS:
            assert_400(api.post(path, json_body={"liveStreamId": value}, user=VIEWER), "liveStreamId")
    for body in [[], "x", 12, None]:
        assert api.post(JOINS[0], json_body={"wrapped": body}, user=VIEWER).status == 400
        reply = raw_json(api, CREATE, json.dumps(body))
        assert reply.status == 400 and reply.errors[0] == "Validation failed"
    profile = {"username": "u", "name": "n", "surname": "s"}
    for extra, field in [
        ({"followersCount": "12"}, "followersCount"),
        ({"followersCount": True}, "followersCount"),
        ({"followersCount": 1.5}, "followersCount"),
        ({"followersCount": -1}, "followersCount"),
        ({"followingCount": [1]}, "followingCount"),
        ({"username": 5}, "username"),
        ({"name": None}, "name"),
        ({"profilePhoto": "https://x/p.jpg"}, "profilePhoto"),
        ({"profilePhoto": {"url": 5}}, "profilePhoto.url"),
        ({"profilePhoto": {"variants": {"40": 1}}}, "profilePhoto.variants.40"),
        ({"availabilityStatus": True}, "availabilityStatus"),
    ]:
        assert_400(api.put(f"/internal/v1/users/{VIEWER}", json_body={**profile, **extra}, api_token=API_TOKEN), field)


# ---------------------------------------------------------------- multipart


def test_multipart_that_does_not_parse_with_its_boundary_is_400(api, world):
    good = part(b"title", b"Hello") + closing()
    assert form_raw(api, good).status == 201
    bodies = [
        part(b"title", b"Hello"),  # no closing delimiter
        part(b"title", b"Hello") + b"--XyZ",  # truncated closing delimiter
        part(b"title", b"Hel"),  # truncated mid-part
        part(b"title", b"Hello", boundary=b"Other") + closing(b"Other"),  # another boundary than declared
        b"title=Hello",  # not multipart at all
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n',  # headers never end
        b"",
        b"--XyZ--\r\n",  # no part: title missing
    ]
    for body in bodies:
        reply = form_raw(api, body)
        assert reply.status == 400 and reply.errors[0] == "Validation failed", (body, reply.json)
    assert_400(form_raw(api, good, "multipart/form-data"), "content-type")  # no boundary
    assert_400(form_raw(api, good, "multipart/form-data; boundary=Wrong"), "body")
    assert_400(form_raw(api, part(b"title", b"a") + part(b"title", b"b") + closing()), "title")  # sent twice


def test_invalid_utf8_in_multipart_names_and_values_is_400(api, world):
    for bad in [b"\xff", b"caf\xe9", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]:
        assert_400(form_raw(api, part(b"title", b"a" + bad) + closing()), "title")
        assert_400(form_raw(api, part(b"title", b"ok") + part(b"interest", bad) + closing()), "interest")
        assert_400(form_raw(api, part(b"title", b"ok") + part(b"ti" + bad, b"x") + closing()), "body")


@pytest.mark.parametrize("value", ["１２", "1e3", "1_000", "+5", " 5", "5 ", "5.", ".5", "-1", "0x10", "٣", "5,00", "NaN", "Infinity", "9" * 30])
def test_multipart_numbers_are_plain_ascii_decimals(api, world, value):
    assert_400(form(api, {"title": "x", "price": value}), "price")
    assert_400(form(api, {"title": "x", "durationGoal": value}), "durationGoal")


def test_multipart_plain_decimals_and_id_arrays_are_accepted(api, world):
    reply = form(api, {"title": "x", "price": "12.50", "durationGoal": "90", "guests": f'["{GUEST}"]'})
    assert reply.status == 201, reply.json
    assert reply.data["price"] == 12.5 and reply.data["durationGoal"] == 90
    assert_400(form(api, {"title": "x", "guests": "[" * 100 + "]" * 100}), "guests")


# ---------------------------------------------------------------- dates and ids


@pytest.mark.parametrize(
    "value",
    [
        "10000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",  # beyond year 9999 once in UTC
        "0001-01-01T00:00:00+23:59",  # before year 1 once in UTC
        "0000-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01",
        "99999999999",
        "",
    ],
)
def test_out_of_range_planned_start_dates_are_400(api, world, value):
    if value == "":
        assert api.create(CREATOR, title="x", plannedStartDate=value).status == 201  # blank: absent
        return
    assert_400(api.create(CREATOR, title="x", plannedStartDate=value), "plannedStartDate")
    assert_400(form(api, {"title": "x", "plannedStartDate": value}), "plannedStartDate")


def test_malformed_ids_in_id_lists_are_400(api, world):
    for bad in [GUEST + "\n", GUEST.upper(), GUEST[:-1], GUEST + "0", " " + GUEST, "", "null", "٠" * 24]:
        assert_400(api.create(CREATOR, title="x", guests=[bad]), "guests")
        assert_400(api.create(CREATOR, title="x", liveStreamType="multi", broadcasters=[bad]), "broadcasters")
        assert_400(form(api, {"title": "x", "guests": json.dumps([bad])}), "guests")
        for path in JOINS:
            assert_400(api.post(path, json_body={"liveStreamId": bad}, user=VIEWER), "liveStreamId")


# ---------------------------------------------------------------- query parameters


def test_query_numbers_are_ascii_integers(api, world):
    viewers = f"/api/v1/live-stream/{world['id']}/viewers"
    for bad in ["１", "1e3", "1_0", " 1", "1.0", "+1", "0x1", "٣", "99999999999999999999", "true", ""]:
        assert_400(api.get(viewers, query={"page": bad}, user=CREATOR), "page")
        assert_400(api.get(viewers, query={"limit": bad}, user=CREATOR), "limit")
        for version in (1, 2):
            path = f"/api/v{version}/live-stream/user/{CREATOR}/upcoming-live-streams"
            for name in ("limit", "minutesBefore", "minutesAfter"):
                assert_400(api.get(path, query={name: bad}), name)


def test_viewer_search_is_checked_text(api, world):
    viewers = f"/api/v1/live-stream/{world['id']}/viewers"
    for bad in ["\x00", "a\x1b", "a\x85", "a" * 51]:
        assert_400(api.get(viewers, query={"search": bad}, user=CREATOR), "search")
    assert api.get(viewers, query={"search": "ada"}, user=CREATOR).status == 200


def test_text_lengths_are_told_in_characters(api, world):
    """A text parameter's length bounds name the field and count characters (not "items"), in both shapes."""
    viewers = f"/api/v1/live-stream/{world['id']}/viewers"
    for too_long in ["a" * 51, "é" * 51, "😀" * 51]:
        reply = api.get(viewers, query={"search": too_long}, user=CREATOR)
        assert reply.status == 400 and reply.errors[1:] == ["search: must be at most 50 characters"], reply.json
    assert api.get(viewers, query={"search": "😀" * 50}, user=CREATOR).status == 200
    assert api.get(viewers, query={"search": ""}, user=CREATOR).errors[1:] == ["search: must not be empty"]

    def message(**query: Any) -> str:
        reply = api.get("/v1/live-events", query=query, api_token=API_TOKEN)
        assert reply.status == 400 and reply.json["code"] == 400100, reply.json
        return str(reply.json["message"])

    assert message(title_contains="t" * 201) == "title_contains: must be at most 200 characters"
    assert message(live_event_ids="a" * 301) == "live_event_ids: must be at most 300 characters"
    assert message(next="A" * 4097) == "next: must be at most 4096 characters"


def _platform_400(reply: Reply, parameter: str) -> None:
    assert reply.status == 400, (parameter, reply.json)
    assert reply.json["error"] is True and reply.json["code"] == 400100 and parameter in reply.json["message"], reply.json
    json.dumps(reply.json, ensure_ascii=False).encode("utf-8")


def test_live_events_bad_values_are_400_in_the_platform_shape(api, world):
    def events(**query: Any) -> Reply:
        return api.get("/v1/live-events", query=query, api_token=API_TOKEN)

    beyond_9999 = str(int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000) + 1)
    for name in ("created_at_start_date", "created_at_end_date", "started_at_start_date", "started_at_end_date"):
        for bad in [beyond_9999, "9" * 25, "-1", "１", "1e3", "1_000", "yesterday"]:
            _platform_400(events(**{name: bad}), name)
        assert events(**{name: str(int(beyond_9999) - 1)}).status == 200  # the last millisecond of 9999 is fine
    for name in ("participant_count_range_gte", "participant_count_range_lte", "duration_range_gte", "duration_range_lte", "limit"):
        for bad in ["9" * 25, "１", "1e3", "1.5"]:
            _platform_400(events(**{name: bad}), name)
    for bad in [GUEST + "\n", GUEST.upper(), "abc", GUEST + "0", "٠" * 24]:
        _platform_400(events(live_event_id=bad), "live_event_id")
        _platform_400(events(live_event_ids=f"{world['id']},{bad}"), "live_event_ids")
        _platform_400(events(created_by_user_id=bad), "created_by_user_id")
        _platform_400(events(created_by_user_ids=f"{CREATOR},{bad}"), "created_by_user_ids")
        _platform_400(events(current_host_user_id=bad), "current_host_user_id")
    for bad in ["\x00", "a\x1b", "a\x85"]:
        _platform_400(events(title_contains=bad), "title_contains")
    good = events(live_event_ids=world["id"], created_by_user_ids=CREATOR)
    assert good.status == 200 and [e["live_event_id"] for e in good.json["live_events"]] == [world["id"]]
