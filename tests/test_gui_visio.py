"""Visio meetings in the window, end to end: a link, the lobby, a host, the sign-in.

Real parts throughout: the application window on a real X server, a real
livekit-server, Visio's backend played by its stand-in (devtools/visio_standin),
the sign-in page in Qt WebEngine, the session kept in a real Secret Service.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import secretstorage

from client import settings as settings_store
from client.settings import Settings
from client.ui.app import Application
from client.ui.prejoin_page import PrejoinPage
from client.visio.api import VisioApi
from client.visio.sign_in_store import SavedSignIn, SignInStore
from devtools.app_driver import PeerLoop, run_app
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.secret_service import SecretServiceSession
from devtools.visio_standin import VisioStandIn
from devtools.waiting import wait_for
from tests.test_visio_api import PASSWORD, login_cookies

pytestmark = [pytest.mark.gui, pytest.mark.visio]


@pytest.fixture
def standin(livekit_server: LiveKitServer) -> Iterator[VisioStandIn]:
    with VisioStandIn(livekit_server) as server:
        server.add_user("sub-marie", "marie@example.gouv.fr", "Marie Curie", PASSWORD)
        yield server


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: VisioStandIn) -> Path:
    """The app's settings start with the stand-in as the Visio server."""
    monkeypatch.setenv("VISIO_DESKTOP_CONFIG_DIR", str(tmp_path / "config"))
    settings = Settings(display_name="Jeanne Barret", visio_servers=[standin.base_url])
    settings_store.save(settings)
    return tmp_path / "config"


@pytest.fixture
def peers() -> Iterator[PeerLoop]:
    loop = PeerLoop()
    try:
        yield loop
    finally:
        loop.stop()


class Host:
    """Marie, signed in on the stand-in, acting through the API (not the GUI)."""

    def __init__(self, standin: VisioStandIn) -> None:
        self.standin = standin
        self.api = VisioApi(standin.base_url)

    async def sign_in(self) -> None:
        cookies = await login_cookies(self.standin.base_url, "marie@example.gouv.fr", PASSWORD)
        name = next(n for n in cookies if n not in ("csrftoken",))
        self.api.sign_in = SavedSignIn(
            self.api.host, name, cookies[name], cookies.get("csrftoken", "")
        )

    async def waiting(self, room_id: str) -> list[str]:
        return [p.id for p in await self.api.waiting_participants(room_id)]

    async def answer(self, room_id: str, participant_id: str, allow: bool) -> None:
        await self.api.enter(room_id, participant_id, allow=allow)


def ask_to_join(app: Application, url: str) -> None:
    home = app.window.home
    home.link.setText(url)
    home.join.click()


async def test_link_lobby_admitted_then_in_the_call(
    standin: VisioStandIn, config_dir: Path, peers: PeerLoop
) -> None:
    room = standin.add_room(
        "abc-defg-hij", name="Comité de pilotage", access_level="restricted", owners=("sub-marie",)
    )
    host = Host(standin)
    peers.run(host.sign_in())

    async def scenario(app: Application) -> None:
        window = app.window
        window.show()
        window.show_home()
        # Pasted in capitals, without dashes: the same room.
        ask_to_join(app, f"{standin.base_url}/ABCDEFGHIJ")
        prejoin = window.prejoin
        await wait_for(lambda: prejoin.room_state == PrejoinPage.SIGN_IN, 10, "the room's rules")
        assert prejoin.title.text() == "Comité de pilotage"
        assert prejoin.join.text() == "Ask to join" and prejoin.sign_in.isVisible()
        prejoin.join.click()
        await wait_for(lambda: prejoin.room_state == PrejoinPage.WAITING, 5, "the lobby")
        assert prejoin.cancel.isVisible() and not prejoin.join.isVisible()
        assert "Waiting for the host" in prejoin.room_notice.text()
        waiting: list[str] = []

        async def someone_waits() -> bool:
            waiting[:] = await peers.run_async(host.waiting(room.id))
            return bool(waiting)

        for _ in range(50):
            if await someone_waits():
                break
            await asyncio.sleep(0.1)
        assert len(waiting) == 1
        await peers.run_async(host.answer(room.id, waiting[0], True))
        await wait_for(lambda: window.call_page is not None, 10, "the call page")
        session = window.session
        assert session is not None
        await wait_for(lambda: session.room.name == room.id, 15, "connected to the room")
        assert session.room.local_participant.identity == waiting[0]
        assert session.visio is not None and not session.visio.is_host
        # Remembered by its link (no token in it), for the next time.
        await wait_for(lambda: bool(window.settings.recent), 10, "the meeting remembered")
        assert window.settings.recent[0].url == f"{standin.base_url}/abc-defg-hij"
        assert window.settings.recent[0].name == "Comité de pilotage"

    run_app(scenario)


async def test_an_unknown_room_is_said_plainly_and_the_link_kept(
    standin: VisioStandIn, config_dir: Path
) -> None:
    async def scenario(app: Application) -> None:
        window = app.window
        window.show()
        window.show_home()
        link = f"{standin.base_url}/zzz-zzzz-zzz"
        ask_to_join(app, link)
        home = window.home
        await wait_for(
            lambda: window.pages.currentWidget() is home and not home.error.isHidden(),
            10,
            "back home with a message",
        )
        assert "does not exist" in home.error.text()
        assert home.link.text() == link
        assert window.call_page is None

    run_app(scenario)


async def test_denied_then_cancelled(
    standin: VisioStandIn, config_dir: Path, peers: PeerLoop
) -> None:
    room = standin.add_room("bcd-efgh-ijk", access_level="restricted", owners=("sub-marie",))
    host = Host(standin)
    peers.run(host.sign_in())

    async def scenario(app: Application) -> None:
        window = app.window
        window.show()
        window.show_home()
        ask_to_join(app, f"{standin.base_url}/bcd-efgh-ijk")
        prejoin = window.prejoin
        await wait_for(lambda: prejoin.join.isEnabled(), 10, "the look-up")
        prejoin.join.click()
        await wait_for(lambda: bool(standin.waiting(room.id)), 10, "us in the lobby")
        (entry,) = await peers.run_async(host.waiting(room.id))
        await peers.run_async(host.answer(room.id, entry, False))
        await wait_for(lambda: prejoin.room_state != PrejoinPage.WAITING, 10, "the answer")
        assert "did not let you in" in prejoin.room_notice.text()
        assert window.call_page is None and window.pages.currentWidget() is prejoin
        # A denial stands for 5 s (asking again at once is denied again); then ask
        # again, and give up: back to the pre-join, and the server forgets us.
        await wait_for(lambda: standin.lobby_entry(room.id, entry) is None, 8, "the denial over")
        prejoin.join.click()
        await wait_for(lambda: prejoin.room_state == PrejoinPage.WAITING, 5, "the lobby again")
        await wait_for(lambda: bool(standin.waiting(room.id)), 10, "us in the lobby again")
        prejoin.cancel.click()
        await wait_for(lambda: prejoin.room_state != PrejoinPage.WAITING, 5, "cancelled")
        assert prejoin.join.isVisible() and prejoin.join.isEnabled()
        await wait_for(lambda: not standin.waiting(room.id), 6, "the server to forget us")
        assert window.call_page is None

    run_app(scenario)


async def test_a_host_admits_a_waiting_guest_from_the_window(
    standin: VisioStandIn,
    config_dir: Path,
    peers: PeerLoop,
    secret_service: SecretServiceSession,
) -> None:
    room = standin.add_room("cde-fghi-jkl", access_level="restricted", owners=("sub-marie",))
    # Marie signed in earlier: her session is in the keychain.
    cookies = peers.run(login_cookies(standin.base_url, "marie@example.gouv.fr", PASSWORD))
    name = next(n for n in cookies if n != "csrftoken")
    host_netloc = standin.base_url.split("://", 1)[1]
    SignInStore().save(
        SavedSignIn(host_netloc, name, cookies[name], cookies.get("csrftoken", ""), "Marie Curie")
    )
    guest = VisioApi(standin.base_url)

    async def scenario(app: Application) -> None:
        from client.visio.lobby import Lobby

        window = app.window
        window.show()
        window.show_home()
        await wait_for(lambda: "Marie Curie" in window.home.account.text(), 10, "signed in")
        ask_to_join(app, f"{standin.base_url}/cde-fghi-jkl")
        prejoin = window.prejoin
        await wait_for(lambda: prejoin.room_state == PrejoinPage.READY, 10, "straight in")
        prejoin.join.click()
        await wait_for(lambda: window.call_page is not None, 10, "the call page")
        session = window.session
        assert session is not None and session.visio is not None
        await wait_for(lambda: session.room.name == room.id, 15, "connected")
        assert session.visio.is_host
        lobby = Lobby(guest, room.id, "Invitée")
        admitted = peers.thread.submit(lobby.wait())
        page = window.call_page
        assert page is not None
        notice = page.findChild(object, "waitingNotice")  # type: ignore[call-overload]
        await wait_for(
            lambda: notice is not None and notice.isVisible() and "Invitée" in notice_text(notice),
            15,
            "the waiting guest in the call window",
        )
        admit = next(b for b in notice.findChildren(object) if button_text(b) == "Admit")
        admit.click()
        await wait_for(lambda: admitted.done(), 10, "the guest admitted")
        assert admitted.result().token
        await wait_for(lambda: not notice.isVisible(), 10, "the notice gone")

    try:
        run_app(scenario)
    finally:
        peers.run(guest.close())


def notice_text(widget: object) -> str:
    from PySide6.QtWidgets import QLabel, QWidget

    assert isinstance(widget, QWidget)
    return " ".join(label.text() for label in widget.findChildren(QLabel))


def button_text(widget: object) -> str:
    from PySide6.QtWidgets import QAbstractButton

    return widget.text() if isinstance(widget, QAbstractButton) else ""


def keychain_entries(session: SecretServiceSession, service: str = "visio-desktop") -> list[str]:
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        return [
            item.get_secret().decode() for item in collection.search_items({"service": service})
        ]
    finally:
        connection.close()


async def test_sign_in_is_kept_across_launches_and_sign_out_forgets_it(
    livekit_server: LiveKitServer,
    standin: VisioStandIn,
    config_dir: Path,
    secret_service: SecretServiceSession,
) -> None:
    standin.add_room("def-ghij-klm", name="Réservée", access_level="trusted")

    async def first_launch(app: Application) -> None:
        from client.ui.sign_in_dialog import SignInDialog

        window = app.window
        window.show()
        window.show_home()
        home = window.home
        assert home.current_server() == standin.base_url
        assert home.sign_in.isVisible()
        home.sign_in.click()
        await wait_for(lambda: window._sign_in_dialog is not None, 5, "the sign-in window")
        dialog = window._sign_in_dialog
        assert isinstance(dialog, SignInDialog)
        await wait_for(lambda: "connection" in dialog.status.text(), 20, "the login page")
        dialog.page.runJavaScript(
            "document.querySelector('input[name=email]').value='marie@example.gouv.fr';"
            f"document.querySelector('input[name=password]').value={json.dumps(PASSWORD)};"
            "document.querySelector('form').submit();"
        )
        await wait_for(lambda: window._sign_in_dialog is None, 20, "the sign-in to finish")
        await wait_for(lambda: "Marie Curie" in home.account.text(), 5, "who we are")
        assert home.sign_out.isVisible()

    run_app(first_launch)
    entries = keychain_entries(secret_service)
    assert len(entries) == 1 and "Marie Curie" in entries[0]
    # Nothing of the session in the app's files.
    secret = json.loads(entries[0])
    for path in config_dir.rglob("*"):
        if path.is_file():
            assert secret["value" if "value" in secret else "cookie_value"] not in path.read_text(
                errors="ignore"
            )

    async def relaunch(app: Application) -> None:
        window = app.window
        window.show()
        window.show_home()
        home = window.home
        await wait_for(lambda: "Marie Curie" in home.account.text(), 10, "still signed in")
        # The trusted room lets a signed-in user straight in: the kept session is used.
        ask_to_join(app, f"{standin.base_url}/def-ghij-klm")
        prejoin = window.prejoin
        await wait_for(lambda: prejoin.room_state == PrejoinPage.READY, 10, "straight in")
        prejoin.back.click()
        home.sign_out.click()
        # Done when the core says so (the button is enabled again): the keychain
        # entry is gone by then.
        await wait_for(
            lambda: home.sign_in.isVisible() and home.sign_in.isEnabled(), 10, "signed out"
        )

    run_app(relaunch)
    assert keychain_entries(secret_service) == []
    assert standin.sessions == 0


async def test_an_expired_sign_in_asks_again_and_keeps_the_link(
    standin: VisioStandIn,
    config_dir: Path,
    peers: PeerLoop,
    secret_service: SecretServiceSession,
) -> None:
    standin.add_room("efg-hijk-lmn", access_level="trusted")
    cookies = peers.run(login_cookies(standin.base_url, "marie@example.gouv.fr", PASSWORD))
    name = next(n for n in cookies if n != "csrftoken")
    SignInStore().save(
        SavedSignIn(
            standin.base_url.split("://", 1)[1], name, cookies[name], cookies["csrftoken"], "Marie"
        )
    )
    standin.expire_sessions()

    async def scenario(app: Application) -> None:
        window = app.window
        window.show()
        window.show_home()
        link = f"{standin.base_url}/efg-hijk-lmn"
        ask_to_join(app, link)
        prejoin = window.prejoin
        await wait_for(lambda: prejoin.room_state == PrejoinPage.EXPIRED, 10, "expired")
        assert prejoin.sign_in.isVisible() and "expired" in prejoin.room_notice.text()
        assert window.pages.currentWidget() is prejoin  # the link is not lost
        # The home page (behind) shows the sign-in gone, for when the user goes back.
        await wait_for(lambda: not window.home.sign_in.isHidden(), 10, "signed out at home")
        assert "expired" in window.home.account.text()

    run_app(scenario)
    assert keychain_entries(secret_service) == []
