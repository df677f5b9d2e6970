"""The functions' configuration, read once per container from the environment template.yaml gives them."""

from __future__ import annotations

import pytest

from livestream.settings import InvalidSetting, MissingSetting, Settings


def test_defaults_apply_to_what_the_environment_does_not_set():
    settings = Settings.from_environment({"TABLE_NAME": "t"})
    assert (settings.table_name, settings.agora_token_ttl_seconds, settings.agora_token_version) == ("t", 3600, "007")
    assert (settings.jwt_algorithm, settings.reminder_lead_minutes, settings.default_thumbnail_url) == ("HS256", 15, "")


def test_numbers_are_read_as_whole_numbers():
    settings = Settings.from_environment({"TABLE_NAME": "t", "AGORA_TOKEN_TTL_SECONDS": "600", "PRESENCE_GRACE_SECONDS": " 90 "})
    assert (settings.agora_token_ttl_seconds, settings.presence_grace_seconds) == (600, 90)


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "ten", ""])
def test_a_number_that_is_not_a_positive_whole_number_is_refused_naming_the_variable(value):
    with pytest.raises(InvalidSetting, match=f"REMINDER_LEAD_MINUTES: must be a positive whole number, not {value!r}"):
        Settings.from_environment({"TABLE_NAME": "t", "REMINDER_LEAD_MINUTES": value})


def test_an_algorithm_not_offered_is_refused():
    with pytest.raises(InvalidSetting, match="JWT_ALGORITHM: must be one of HS256, RS256, not 'none'"):
        Settings.from_environment({"TABLE_NAME": "t", "JWT_ALGORITHM": "none"})


def test_the_table_is_required_and_other_names_when_first_read(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "GetStreamFunction")
    with pytest.raises(MissingSetting, match="GetStreamFunction reads TABLE_NAME"):
        Settings.from_environment({})
    settings = Settings.from_environment({"TABLE_NAME": "t", "EVENT_BUS_NAME": "bus"})
    assert settings.event_bus_name == "bus"
    with pytest.raises(MissingSetting, match="GetStreamFunction reads REMINDER_QUEUE_URL"):
        _ = settings.reminder_queue_url
