"""The user's settings, kept between runs in the platform's config folder.

A JSON file (``platformdirs``' user config dir), read leniently: a missing,
unreadable or partly wrong file gives defaults for what is wrong and keeps the
rest.  It never holds a secret: recent meetings keep their address and name,
never a token.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from client.media.audio_processing import AudioProcessingSettings

log = logging.getLogger(__name__)

APP_NAME = "visio-desktop"
CAPTION_SIZES = ("S", "M", "L", "XL")
LANGUAGES = ("system", "fr", "en")
MAX_RECENT = 10
MAX_VISIO_SERVERS = 10
#: The State's Visio: offered until the user has used others.
DEFAULT_VISIO_SERVER = "https://visio.numerique.gouv.fr"


@dataclass
class RecentMeeting:
    url: str
    name: str


@dataclass
class Settings:
    display_name: str = ""
    language: str = "system"
    caption_size: str = "M"
    caption_background_opacity: float = 0.6
    captions_on: bool = True
    shortcuts_enabled: bool = True
    camera_device: str = ""
    microphone_device: str = ""
    speaker_device: str = ""
    #: The microphone's processing stages, each of which can be turned off (a studio
    #: microphone wants no gain control; a headset needs no echo canceller).
    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain: bool = True
    high_pass: bool = True
    #: A PEM file of certificate authorities trusted on top of the system's, for
    #: organisations whose CA is not installed on the machine; "" for none.
    extra_ca_file: str = ""
    recent: list[RecentMeeting] = field(default_factory=list)
    #: Visio servers used, most recent first (``https://host``): where room codes
    #: typed alone go, and whose sign-in the home page shows.
    visio_servers: list[str] = field(default_factory=lambda: [DEFAULT_VISIO_SERVER])

    @property
    def extra_ca_path(self) -> Path | None:
        """``extra_ca_file`` as a path (``~`` expanded), None when unset."""
        text = self.extra_ca_file.strip()
        return Path(text).expanduser() if text else None

    def processing(self) -> AudioProcessingSettings:
        """The microphone's processing stages as chosen."""
        return AudioProcessingSettings(
            echo_cancellation=self.echo_cancellation,
            noise_suppression=self.noise_suppression,
            auto_gain=self.auto_gain,
            high_pass=self.high_pass,
        )

    def remember_visio_server(self, base_url: str) -> None:
        self.visio_servers = [s for s in self.visio_servers if s != base_url]
        self.visio_servers.insert(0, base_url)
        del self.visio_servers[MAX_VISIO_SERVERS:]

    def remember_meeting(self, url: str, name: str) -> None:
        self.recent = [m for m in self.recent if m.url != url]
        self.recent.insert(0, RecentMeeting(url, name))
        del self.recent[MAX_RECENT:]


def default_path() -> Path:
    override = os.environ.get("VISIO_DESKTOP_CONFIG_DIR")
    base = Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))
    return base / "settings.json"


def _clean(raw: dict[str, Any]) -> Settings:
    settings = Settings()
    defaults = asdict(settings)
    for f in fields(Settings):
        if f.name not in raw or f.name in ("recent", "visio_servers"):
            continue
        value = raw[f.name]
        default = defaults[f.name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(default))
        if ok:
            setattr(settings, f.name, value)
        else:
            log.warning("settings: ignoring %s=%r", f.name, value)
    if settings.caption_size not in CAPTION_SIZES:
        settings.caption_size = "M"
    if settings.language not in LANGUAGES:
        settings.language = "system"
    settings.caption_background_opacity = min(1.0, max(0.0, settings.caption_background_opacity))
    recent = raw.get("recent")
    if isinstance(recent, list):
        for item in recent[:MAX_RECENT]:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                name = item.get("name")
                settings.recent.append(
                    RecentMeeting(item["url"], name if isinstance(name, str) else "")
                )
    servers = raw.get("visio_servers")
    if isinstance(servers, list):
        kept = [s for s in servers if isinstance(s, str) and s.startswith(("https://", "http://"))]
        settings.visio_servers = kept[:MAX_VISIO_SERVERS] or [DEFAULT_VISIO_SERVER]
    return settings


def load(path: Path | None = None) -> Settings:
    path = path or default_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s): using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    return _clean(raw)


def save(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write never leaves a half file."""
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(asdict(settings), ensure_ascii=False, indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
