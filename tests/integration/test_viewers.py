"""GET /api/v1/live-stream/{id}/viewers: paging, search, isFollowing, totals, who may list."""

from __future__ import annotations

import pytest

from livestream import store
from tests.support import API_TOKEN, user_id

HOST, GUEST, STRANGER = user_id(1), user_id(2), user_id(3)
VIEWERS = [user_id(100 + n) for n in range(7)]
NAMES = ["Işık", "Ilgaz", "İpek", "Can", "Cem", "Deniz", "Ece"]


@pytest.fixture
def live(api):
    for uid in (HOST, GUEST, STRANGER):
        api.add_user(uid)
    for uid, name in zip(VIEWERS, NAMES, strict=False):
        api.add_user(
            uid, name=name, surname="Yılmaz" if name != "Ece" else "Kaya", username=f"u_{name.lower()}", expertise="designer", followersCount=3
        )
    stream = api.create(HOST, guests=[GUEST]).data
    for uid in VIEWERS:  # joined in this order: the last one is the newest
        assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=uid).status == 200
    api.put(f"/internal/v1/users/{HOST}/following/{VIEWERS[6]}", api_token=API_TOKEN)
    api.put(f"/internal/v1/users/{HOST}/following/{VIEWERS[4]}", api_token=API_TOKEN)
    return stream


def queries_seen(monkeypatch):
    """The Query requests made from now on (each one's parameters), still sent."""
    calls = []
    client = store.client()
    real = client.query

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client, "query", counting)
    return calls


def viewers(api, stream, who=HOST, **query):
    api.settle()  # the joins and leaves so far have been counted
    return api.get(f"/api/v1/live-stream/{stream['id']}/viewers", user=who, query=query or None)


def test_first_page_newest_first_with_the_seed_shape(api, live):
    reply = viewers(api, live, limit=3)
    assert reply.status == 200 and reply.function == "ListViewersFunction"
    data = reply.data
    assert [v["_id"] for v in data["list"]] == [VIEWERS[6], VIEWERS[5], VIEWERS[4]]
    first = data["list"][0]
    assert set(first) == {
        "_id",
        "username",
        "name",
        "surname",
        "profilePhoto",
        "followersCount",
        "followingCount",
        "expertise",
        "isFollowing",
        "joinedAt",
    }
    assert first["name"] == "Ece" and first["expertise"] == "designer" and first["followersCount"] == 3
    assert [v["isFollowing"] for v in data["list"]] == [True, False, True]
    assert data["pagination"] == {"currentPage": 1, "totalPages": 3, "totalItems": 7, "itemsPerPage": 3, "hasNextPage": True, "hasPrevPage": False}
    assert data["participantAudienceTotal"] == 7


def test_pages_walk_the_whole_audience(api, live):
    seen = []
    for page in (1, 2, 3):
        data = viewers(api, live, page=page, limit=3).data
        seen += [v["_id"] for v in data["list"]]
        assert data["pagination"]["hasPrevPage"] is (page > 1) and data["pagination"]["hasNextPage"] is (page < 3)
    assert seen == VIEWERS[::-1]
    assert viewers(api, live, page=4, limit=3).data["list"] == []


def test_default_paging(api, live):
    data = viewers(api, live).data
    assert data["pagination"]["itemsPerPage"] == 20 and data["pagination"]["currentPage"] == 1 and len(data["list"]) == 7


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ışık", {"Işık"}),  # ı, I and İ all fold to i
        ("ISIK", {"Işık"}),
        ("ipek", {"İpek"}),
        ("ılg", {"Ilgaz"}),
        ("yilmaz", set(NAMES) - {"Ece"}),
        ("u_ce", {"Cem"}),
        ("zzz", set()),
    ],
)
def test_search_folds_case_and_turkish_letters(api, live, search, expected):
    data = viewers(api, live, search=search, limit=100).data
    assert {v["name"] for v in data["list"]} == expected
    assert data["pagination"]["totalItems"] == len(expected)
    assert data["participantAudienceTotal"] == 7


@pytest.mark.parametrize("search", ["lmaz", "ılmaz", "pek", "_cem", "kaya u_e"])
def test_search_matches_word_starts_not_substrings(api, live, search):
    """``lmaz`` is inside Yılmaz, ``pek`` inside İpek, ``_cem`` inside u_cem: none starts a word; nor do a
    surname and a username in a row."""
    data = viewers(api, live, search=search).data
    assert data["list"] == [] and data["pagination"]["totalItems"] == 0 and data["participantAudienceTotal"] == 7


def test_search_results_are_newest_first_and_paged(api, live):
    seen = []
    for page in (1, 2, 3):
        data = viewers(api, live, search="YIL", page=page, limit=2).data
        seen += [v["_id"] for v in data["list"]]
        assert data["pagination"] == {
            "currentPage": page, "totalPages": 3, "totalItems": 6, "itemsPerPage": 2, "hasNextPage": page < 3, "hasPrevPage": page > 1,
        }  # fmt: skip
        assert data["participantAudienceTotal"] == 7
    assert seen == VIEWERS[5::-1]


def test_a_viewer_who_left_is_not_found(api, live):
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWERS[0])  # Işık
    data = viewers(api, live, search="isik").data
    assert data["list"] == [] and data["pagination"]["totalItems"] == 0 and data["participantAudienceTotal"] == 6
    assert [v["_id"] for v in viewers(api, live, search="yilmaz", limit=100).data["list"]] == VIEWERS[5:0:-1]
    api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=VIEWERS[0])  # back, now the newest
    data = viewers(api, live, search="yilmaz", limit=100).data
    assert [v["_id"] for v in data["list"]] == [VIEWERS[0], *VIEWERS[5:0:-1]] and data["pagination"]["totalItems"] == 6


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("jose", {"José"}),  # accents stripped
        ("ÇAĞ", {"Çağrı"}),
        ("cagri.o", {"Çağrı"}),  # the username from its start
        ("ozturk", {"Çağrı"}),  # a word of the username, and the surname
        ("ali ve", {"Ali Veli"}),  # words in a row: name and second name
        ("veli  ŞA", {"Ali Veli"}),  # second name and surname; runs of spaces are one
        ("ali şah", set()),  # not in a row
        ("ali veli sahin", {"Ali Veli"}),  # longer than the index keys' prefixes
        ("ali veli sahinler", set()),
        ("   ", set()),  # nothing to look for
        ("mehmetali y", {"Mehmetali"}),  # a longer search whose index key ends in a space
        ("mehmetali yilmaz", {"Mehmetali"}),
    ],
)
def test_search_folds_and_reads_words_in_a_row(api, search, expected):
    host = user_id(9)
    api.add_user(host)
    people = {
        user_id(200): ("José", "García", "jgarcia"),
        user_id(201): ("Çağrı", "Öztürk", "cagri.ozturk"),
        user_id(202): ("Ali Veli", "Şahin", "av"),
        user_id(203): ("Mehmetali", "Yılmaz", "mm"),
    }
    stream = api.create(host).data
    for who, (name, surname, username) in people.items():
        api.add_user(who, name=name, surname=surname, username=username)
        assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=who).status == 200
    data = viewers(api, stream, who=host, search=search).data
    assert {v["name"] for v in data["list"]} == expected and data["pagination"]["totalItems"] == len(expected)
    assert data["participantAudienceTotal"] == len(people)


def test_a_search_reads_its_prefix_key_not_the_audience(api, live, monkeypatch):
    """A search queries its prefix's index shards (``Limit`` page × limit each), never the AudienceIndex."""
    from livestream.store import audience

    api.settle()
    calls = queries_seen(monkeypatch)
    data = api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST, query={"search": "yil", "limit": 2, "page": 2}).data
    assert [v["_id"] for v in data["list"]] == [VIEWERS[3], VIEWERS[2]]
    assert len(calls) == audience.SEARCH_SHARDS and all("IndexName" not in c and c["Limit"] == 4 for c in calls)


def test_left_viewers_are_not_listed(api, live):
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWERS[6])
    data = viewers(api, live).data
    assert VIEWERS[6] not in [v["_id"] for v in data["list"]] and data["participantAudienceTotal"] == 6


@pytest.mark.parametrize("who", [HOST, GUEST, VIEWERS[0]])
def test_participants_may_list(api, live, who):
    assert viewers(api, live, who=who).status == 200


def test_others_may_not(api, live):
    assert viewers(api, live, who=STRANGER).status == 403
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWERS[0])
    assert viewers(api, live, who=VIEWERS[0]).status == 403
    assert api.get(f"/api/v1/live-stream/{live['id']}/viewers").status == 401


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"limit": 0}, "limit: must be greater than or equal to 1"),
        ({"limit": 101}, "limit: must be less than or equal to 100"),
        ({"page": 0}, "page: must be greater than or equal to 1"),
        ({"page": "two"}, "page: must be a whole number"),
    ],
)
def test_bad_paging_is_400(api, live, query, detail):
    reply = viewers(api, live, **query)
    assert reply.status == 400 and detail in reply.errors


def test_an_ended_stream_has_no_viewers(api, live):
    api.settle()
    api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST)
    data = viewers(api, live).data
    assert data["list"] == [] and data["participantAudienceTotal"] == 0
    assert store.get(store.stream_key(live["id"]))["peakAudience"] == 7


def test_a_page_reads_the_window_not_the_audience(api, live, monkeypatch):
    """Without search, a page is one read of the newest-viewers window the aggregator keeps: no index query."""
    api.settle()
    calls = queries_seen(monkeypatch)
    data = api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST, query={"limit": 2, "page": 2}).data
    assert calls == [] and [v["_id"] for v in data["list"]] == [VIEWERS[4], VIEWERS[3]]


def test_the_window_is_refilled_when_its_viewers_leave(api, live, monkeypatch):
    from livestream import aggregator

    monkeypatch.setattr(aggregator, "WINDOW", 3)
    monkeypatch.setattr(aggregator, "WINDOW_KEEP", 3)
    for who in VIEWERS[:3]:  # a join moves the window: it holds the newest three
        api.post(f"/api/v1/live-stream/{live['id']}/leave", user=who)
        api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=who)
    api.settle()
    assert [e.split("#")[1] for e in store.get(store.window_key(live["id"]))["entries"]] == VIEWERS[2::-1]
    for who in VIEWERS[:3]:
        api.post(f"/api/v1/live-stream/{live['id']}/leave", user=who)
    api.settle()
    # the window emptied; refilled from the AudienceIndex with the next newest
    assert [e.split("#")[1] for e in store.get(store.window_key(live["id"]))["entries"]] == [VIEWERS[6], VIEWERS[5], VIEWERS[4]]
    data = viewers(api, live, limit=3).data
    assert [v["_id"] for v in data["list"]] == [VIEWERS[6], VIEWERS[5], VIEWERS[4]] and data["pagination"]["totalItems"] == 4


def test_pages_reach_the_newest_thousand_viewers(api, live, monkeypatch):
    from livestream import participants

    reply = viewers(api, live, page=11, limit=100)
    assert reply.status == 400 and any(e.startswith("page: ") for e in reply.errors[1:])
    assert viewers(api, live, page=10, limit=100).status == 200
    monkeypatch.setattr(participants, "VIEWERS_WINDOW", 4)  # a window smaller than the audience of 7
    data = viewers(api, live, limit=2).data
    assert data["pagination"]["totalItems"] == 7 and data["pagination"]["totalPages"] == 2
    assert viewers(api, live, page=2, limit=2).data["pagination"]["hasNextPage"] is False
    assert viewers(api, live, page=3, limit=2).status == 400


@pytest.mark.parametrize("search", ["lukasz", "ŁUK", "oyv", "strasse"])
def test_search_folds_stroked_letters_and_ligatures_to_their_base_letters(api, search):
    """Ł, Ø, ß are folded (l, o, ss) as accents are, not dropped: ``lukasz`` finds Łukasz."""
    for uid in (HOST, VIEWERS[0]):
        api.add_user(uid, name="Łukasz", surname="Øyvind", username="straße")
    stream = api.create(HOST).data
    assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=VIEWERS[0]).status == 200
    data = viewers(api, stream, search=search).data
    assert [v["_id"] for v in data["list"]] == [VIEWERS[0]] and data["pagination"]["totalItems"] == 1
