"""Agora AccessToken2 (007), the default, beside 006: checked with Agora's own test vector and decoded
by a reader independent of the builder (tests/agora_tokens.py)."""

from __future__ import annotations

import base64
import time
import zlib

import pytest

from livestream import agora
from livestream.clock import parse_iso
from tests.agora_tokens import decode_token2
from tests.support import AGORA, reset_caches, user_id

HOST, VIEWER = user_id(21), user_id(22)

# Agora's published AccessToken2 test (AgoraDynamicKey, AccessToken2Test.test_service_rtc)
VECTOR = {"app_id": "970CA35de60c44645bbae8a215061b33", "certificate": "5CFd2fd1755d40ecb72977518be15d3b"}
VECTOR_TOKEN = (
    "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
    "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj"
)


def test_the_builder_reproduces_agoras_test_vector():
    subject = agora._string(b"7d72365eb983485397e3e3f9d460bdda") + agora._string(b"2882341273")
    token = agora.access_token2(
        VECTOR["app_id"], VECTOR["certificate"], [(agora.SERVICE_RTC, {agora.RTC_JOIN_CHANNEL: 600}, subject)], issue_ts=1111111, expire=600, salt=1
    )
    assert token == VECTOR_TOKEN


def test_the_independent_reader_decodes_agoras_test_vector():
    decoded = decode_token2(VECTOR_TOKEN, VECTOR["certificate"])
    assert (decoded["appId"], decoded["issueTs"], decoded["expire"], decoded["salt"]) == (VECTOR["app_id"], 1111111, 600, 1)
    assert decoded["services"] == {"rtc": {"privileges": {1: 600}, "channel": "7d72365eb983485397e3e3f9d460bdda", "uid": "2882341273"}}
    with pytest.raises(AssertionError, match="bad signature"):
        decode_token2(VECTOR_TOKEN, "0" * 32)


def test_a_tampered_token_fails_the_signature():
    data = bytearray(zlib.decompress(base64.b64decode(VECTOR_TOKEN[3:])))
    data[-1] ^= 1  # the uid's last digit
    tampered = "007" + base64.b64encode(zlib.compress(bytes(data))).decode()
    with pytest.raises(AssertionError, match="bad signature"):
        decode_token2(tampered, VECTOR["certificate"])


@pytest.fixture
def live(api):
    api.add_user(HOST)
    api.add_user(VIEWER)
    return api.create(HOST).data


def test_joining_mints_007_tokens_with_the_roles_privileges(api, live):
    before = int(time.time())
    host = api.post("/api/v1/live-stream/join-as-broadcaster", json_body={"liveStreamId": live["id"]}, user=HOST).data
    viewer = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=VIEWER).data
    for joined, privileges in ((host, {1, 2, 3, 4}), (viewer, {1})):
        rtc = decode_token2(joined["agora"]["token"], AGORA["appCertificate"])
        assert rtc["appId"] == AGORA["appId"] and before <= rtc["issueTs"] <= int(time.time())
        assert rtc["expire"] == 3600
        assert rtc["services"]["rtc"] == {
            "privileges": dict.fromkeys(privileges, 3600),
            "channel": live["channelName"],
            "uid": str(joined["agora"]["uid"]),
        }
        rtm = decode_token2(joined["rtm"]["token"], AGORA["appCertificate"])
        assert rtm["services"] == {"rtm": {"privileges": {1: 3600}, "userId": joined["rtm"]["userId"]}}
        assert rtc["issueTs"] + 3600 == int(parse_iso(joined["agora"]["expiresAt"]).timestamp())


def test_the_setting_chooses_006(api, aws, live):
    aws.with_parameters(AgoraTokenVersion="006")  # the template parameter behind AGORA_TOKEN_VERSION
    joined = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=VIEWER).data
    assert joined["agora"]["token"].startswith("006" + AGORA["appId"]) and joined["rtm"]["token"].startswith("006")


def test_an_unknown_version_is_refused_at_configuration(monkeypatch):
    from livestream.settings import InvalidSetting, get_settings

    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("AGORA_TOKEN_VERSION", "008")
    reset_caches()
    with pytest.raises(InvalidSetting, match="AGORA_TOKEN_VERSION: must be one of 006, 007, not '008'"):
        get_settings()
    monkeypatch.undo()
    reset_caches()
