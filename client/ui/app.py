"""The windowed application: ``visio-desktop [link] [--no-prejoin] [--name NAME]``.

Two loops run: the core's asyncio loop in its own thread (media, signaling) and
qasync's on the Qt thread (UI-side coroutines).  The application never needs root
and never enters a network namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

import qasync
from PySide6.QtCore import QLibraryInfo, QLocale, Qt, QTimer, QTranslator
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from client import settings as settings_store
from client.gc_tuning import settle_after_startup
from client.livekit import errors
from client.livekit.room import RoomOptions
from client.local_media import LocalAudio
from client.media.camera import DEFAULT_MODES, Camera
from client.meeting_link import LinkError, MeetingLink, parse_join_target
from client.settings import Settings
from client.ui.bridge import CoreBridge
from client.ui.core_thread import CoreThread
from client.ui.main_window import MainWindow
from client.ui.messages import link_error_message
from client.ui.resources import resource_path
from client.ui.sign_in_dialog import prepare_web_engine
from client.ui.video_frames import VideoConverter
from client.visio.accounts import VisioAccounts
from client.visio.links import VisioLink
from client.visio.sign_in_store import SignInStore

log = logging.getLogger(__name__)

#: Capture modes for calls: 640x360 first (raw, then MJPEG), then 640x480.
CALL_MODES = DEFAULT_MODES[2:]


def ui_language(settings: Settings) -> str:
    """The UI language: the one chosen, else the system's if we have it, else English."""
    if settings.language in ("fr", "en"):
        return settings.language
    system = QLocale.system().name().split("_")[0]
    return "fr" if system == "fr" else "en"


def install_translations(app: QApplication, language: str) -> list[QTranslator]:
    """Our catalogue plus Qt's own (standard buttons, dialogs); kept referenced."""
    translators: list[QTranslator] = []
    if language == "en":
        return translators
    ours = QTranslator(app)
    if ours.load(str(resource_path("translations", f"visio_desktop_{language}.qm"))):
        app.installTranslator(ours)
        translators.append(ours)
    else:
        log.warning("no compiled %s translation (run `make translations`)", language)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        translators.append(qt)
    return translators


def apply_theme(app: QApplication) -> None:
    """The light or dark style, as the system prefers (dark when it does not say:
    a call screen is dark)."""
    scheme = getattr(app.styleHints(), "colorScheme", lambda: Qt.ColorScheme.Unknown)()
    name = "app-light.qss" if scheme == Qt.ColorScheme.Light else "app.qss"
    style = resource_path("styles", name)
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))


def create_application(argv: Sequence[str], settings: Settings) -> QApplication:
    existing = QApplication.instance()
    if existing is None:
        # The sign-in window's web engine wants its settings before any QApplication.
        prepare_web_engine()
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            # Fractional scales (125 %, 150 %) stay crisp instead of being rounded.
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    app.setApplicationName("Visio Desktop")
    app.setOrganizationName("DINUM")
    app.setDesktopFileName("visio-desktop")
    apply_theme(app)
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        # The system switched between light and dark: follow it at once.
        hints.colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
    language = ui_language(settings)
    app.setProperty("visio_translators", install_translations(app, language))
    QLocale.setDefault(
        QLocale(QLocale.Language.French if language == "fr" else QLocale.Language.English)
    )
    return app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visio-desktop")
    parser.add_argument(
        "link",
        nargs="?",
        help="meeting link (https://visio…/abc-defg-hij, visio://…, wss://…?token=…)",
    )
    parser.add_argument("--token", default=os.environ.get("VISIO_DESKTOP_TOKEN"))
    parser.add_argument("--name", default=None, help="display name")
    parser.add_argument("--no-prejoin", action="store_true", help="join without pre-join")
    parser.add_argument(
        "--test-media",
        action="store_true",
        help="send a test pattern and silence instead of the camera and microphone",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


class Application:
    """The pieces a running app holds, so tests and tools can reach them."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        room_options: RoomOptions | None = None,
        test_media: bool = False,
        sign_in_store: SignInStore | None = None,
    ) -> None:
        self.settings = settings_store.load()
        self.qt = create_application(argv, self.settings)
        self.core = CoreThread()
        self.core.start()
        self.converter = VideoConverter()
        self.converter.start()
        self.bridge = CoreBridge(self.core)
        #: The microphone and speakers, opened once for the app's life (None with
        #: test media: a test pattern and silence are sent, nothing is played).
        self.audio = None if test_media else local_audio(self.settings)
        #: The camera, listed and watched for the app's life, opened only while on
        #: (360p: what a call sends; 720p capture would be scaled down anyway).
        self.camera = None if test_media else Camera(modes=CALL_MODES)
        #: Visio servers and the sign-ins kept in the keychain.
        self.accounts = VisioAccounts(sign_in_store, extra_ca_file=self.settings.extra_ca_path)
        # The window first: what the devices report from now on reaches its pages
        # (a queued signal goes only to those connected when it is emitted).
        self.window = MainWindow(
            self.bridge,
            self.converter,
            self.settings,
            room_options=room_options,
            audio=self.audio,
            camera=self.camera,
            accounts=self.accounts,
        )
        if self.audio is not None:
            self.bridge.observe(self.audio.events)
            # Opened now, in the background: ready by the pre-join screen or the join.
            self.bridge.fire("audio", self.audio.start())
        if self.camera is not None:
            self.bridge.observe(self.camera.events)
            self.bridge.fire("camera list", self.camera.watch())

    def open(
        self, link: MeetingLink | VisioLink | None, name: str | None, *, prejoin: bool = True
    ) -> None:
        self.window.show()
        display_name = name or self.settings.display_name
        if link is None:
            self.window.show_home()
        elif prejoin or not display_name:
            self.window.open_prejoin(link, display_name)
        else:
            self.window.join_directly(link, display_name)

    def close_devices(self) -> None:
        """Close the microphone, speakers and camera (the core thread keeps running)."""
        audio, self.audio = self.audio, None
        camera, self.camera = self.camera, None
        for device in (audio, camera):
            if device is None:
                continue
            try:
                self.bridge.submit(device.close()).result(5)
            except Exception:
                log.warning("a device did not close cleanly", exc_info=True)

    def close(self) -> None:
        self.converter.stop()
        self.close_devices()
        try:
            self.bridge.submit(self.accounts.close()).result(5)
        except Exception:
            log.warning("the Visio connections did not close cleanly", exc_info=True)
        self.core.stop()


def local_audio(settings: Settings) -> LocalAudio:
    return LocalAudio(
        settings.processing(),
        microphone=settings.microphone_device,
        speaker=settings.speaker_device,
    )


def run(argv: Sequence[str] | None = None, *, room_options: RoomOptions | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.ERROR)
    application = Application(sys.argv[:1], room_options=room_options, test_media=args.test_media)
    link: MeetingLink | VisioLink | None = None
    problem = ""
    if args.link:
        try:
            default_server = application.settings.visio_servers[0]
            link = parse_join_target(args.link, args.token or "", default_server)
        except (LinkError, errors.ConnectError) as exc:
            problem = link_error_message(exc)
    loop = qasync.QEventLoop(application.qt)
    asyncio.set_event_loop(loop)
    for number in (signal.SIGINT, signal.SIGTERM):
        # From a terminal or a session manager: leave the call and quit, no question.
        signal.signal(number, lambda *_: application.window.quit_now())
    # Python runs signal handlers only between its own bytecodes: an idle Qt loop would
    # hold them back forever, so a cheap timer hands control back four times a second.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    application.open(link, args.name, prejoin=not args.no_prejoin)
    settle_after_startup()
    if problem:
        application.window.home.link.setText(args.link)
        application.window.show_home(problem)
    closed = asyncio.Event()
    application.qt.aboutToQuit.connect(closed.set)
    application.qt.lastWindowClosed.connect(closed.set)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        application.close()
    return 0
