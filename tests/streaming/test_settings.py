"""`StreamSettings`: the profiles (`--profile`, WEIR_STREAM_PROFILE) and what wins over them."""

import pytest
from pydantic import ValidationError

from streaming.settings import PROFILES, StreamSettings


def test_without_a_profile_the_defaults_hold(monkeypatch):
    monkeypatch.delenv("WEIR_STREAM_PROFILE", raising=False)
    settings = StreamSettings()
    assert (settings.trigger_seconds, settings.max_offsets_per_trigger) == (2.0, 500_000)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_profile_sets_its_knobs(monkeypatch, profile):
    monkeypatch.setenv("WEIR_STREAM_PROFILE", profile)
    settings = StreamSettings()
    assert settings.trigger_seconds == PROFILES[profile]["trigger_seconds"]
    assert settings.max_offsets_per_trigger == PROFILES[profile]["max_offsets_per_trigger"]


def test_an_explicit_value_wins_over_the_profile(monkeypatch):
    monkeypatch.setenv("WEIR_TRIGGER_SECONDS", "4")
    settings = StreamSettings(stream_profile="latency")
    assert settings.trigger_seconds == 4.0  # from the environment
    assert settings.max_offsets_per_trigger == PROFILES["latency"]["max_offsets_per_trigger"]
    assert StreamSettings(stream_profile="latency", max_offsets_per_trigger=7).max_offsets_per_trigger == 7


def test_an_unknown_profile_or_mode_is_refused():
    with pytest.raises(ValidationError, match="stream_profile"):
        StreamSettings(stream_profile="fast")
    with pytest.raises(ValidationError, match="stream_dedupe"):
        StreamSettings(stream_dedupe="bloom")
    with pytest.raises(ValidationError, match="dedupe_window_seconds"):
        StreamSettings(dedupe_window_seconds=0)
