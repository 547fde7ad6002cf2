"""Settings survive restarts, and a damaged file never stops the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client import settings as store


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = store.Settings(display_name="Anne", caption_size="XL", shortcuts_enabled=False)
    settings.remember_meeting("wss://a.example", "Point hebdo")
    settings.remember_meeting("wss://b.example", "Comité")
    settings.remember_meeting("wss://a.example", "Point hebdo")
    store.save(settings, path)
    loaded = store.load(path)
    assert loaded == settings
    assert [m.url for m in loaded.recent] == ["wss://a.example", "wss://b.example"]


def test_recent_meetings_never_hold_a_token(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = store.Settings()
    settings.remember_meeting("wss://a.example", "Réunion")
    store.save(settings, path)
    assert "token" not in path.read_text()


def test_a_damaged_file_gives_defaults_for_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "display_name": "Anne",
                "caption_size": "HUGE",
                "caption_background_opacity": 7,
                "shortcuts_enabled": "yes",
                "recent": [{"url": 3}, {"url": "wss://ok.example", "name": None}, "x"],
                "unknown": 1,
            }
        )
    )
    loaded = store.load(path)
    assert loaded.display_name == "Anne"
    assert loaded.caption_size == "M"
    assert loaded.caption_background_opacity == 1.0
    assert loaded.shortcuts_enabled is True
    assert [(m.url, m.name) for m in loaded.recent] == [("wss://ok.example", "")]
    path.write_text("{not json")
    assert store.load(path) == store.Settings()
    path.write_text("[1, 2]")
    assert store.load(path) == store.Settings()


def test_the_config_folder_can_be_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIO_DESKTOP_CONFIG_DIR", str(tmp_path))
    assert store.default_path() == tmp_path / "settings.json"
