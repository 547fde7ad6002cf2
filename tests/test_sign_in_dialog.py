"""The sign-in window against a real login server (aiohttp on 127.0.0.1, its own loop
in a thread) in a real embedded browser (Qt WebEngine) drawn by the real X server."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import shiboken6
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PySide6.QtCore import QEventLoop, Qt, QTimer, QUrl
from PySide6.QtNetwork import QNetworkCookie
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from client.ui.sign_in_dialog import SignInDialog, cookie_applies_to, prepare_web_engine

pytestmark = pytest.mark.gui

# Before any QApplication of this process when this module runs alone (the suite's
# conftest does it for everyone).
prepare_web_engine()

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "agnes@example.org", "correct horse battery staple"


class LoginServer:
    """A login page like the backend's stand-in: a form at authenticate/, whose POST
    sets the session and CSRF cookies and goes back to returnTo."""

    def __init__(self, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.ssl_context = ssl_context
        self.session = secrets.token_urlsafe(24)
        self.csrf = secrets.token_urlsafe(24)
        self.return_to: list[str] = []
        self.posted: list[dict[str, str]] = []
        #: The cookies the browser sent back with GET /.
        self.home_cookies: list[dict[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="login-server")
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> LoginServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1.0/authenticate/", self._form)
        app.router.add_post("/api/v1.0/authenticate/", self._login)
        app.router.add_get("/api/v1.0/logout/", self._logout)
        app.router.add_get("/help/", self._help)
        app.router.add_get("/", self._home)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _form(self, request: web.Request) -> web.Response:
        return_to = request.query.get("returnTo", "")
        self.return_to.append(return_to)
        html = f"""<!doctype html><html><head><title>Connexion</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>Connexion</h1>
<form id="login" method="post" action="?returnTo={quote(return_to, safe="")}">
<p><label>E-mail <input id="username" name="username"></label></p>
<p><label>Mot de passe <input id="password" name="password" type="password"></label></p>
<p><button id="submit" type="submit">Se connecter</button></p>
</form>
<p><a id="help" href="/help/" target="_blank">Aide</a></p>
</body></html>"""
        return web.Response(text=html, content_type="text/html")

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.posted.append({key: str(value) for key, value in form.items()})
        if form.get("username") != USER or form.get("password") != PASSWORD:
            return web.Response(status=403, text="wrong password")
        found = web.HTTPFound(request.query["returnTo"])
        found.set_cookie("meet_sessionid", self.session, httponly=True, path="/", samesite="Lax")
        found.set_cookie("csrftoken", self.csrf, path="/", samesite="Lax")
        raise found

    async def _logout(self, request: web.Request) -> web.Response:
        found = web.HTTPFound("/")
        found.del_cookie("meet_sessionid", path="/")
        raise found

    async def _help(self, request: web.Request) -> web.Response:
        return web.Response(text="<h1 id='helped'>Aide</h1>", content_type="text/html")

    async def _home(self, request: web.Request) -> web.Response:
        self.home_cookies.append(dict(request.cookies))
        return web.Response(text="<h1 id='home'>Visio</h1>", content_type="text/html")


# --- helpers ------------------------------------------------------------------------------


def until(predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Run the Qt loop until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        QTest.qWait(20)


def run_js(dialog: SignInDialog, script: str, timeout: float = 10) -> Any:
    """The value of ``script`` in the page (None while no page answers)."""
    result: Future[Any] = Future()
    loop = QEventLoop()

    def answered(value: Any) -> None:
        if not result.done():
            result.set_result(value)
        loop.quit()

    dialog.page.runJavaScript(script, 0, answered)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    return result.result() if result.done() else None


def has_element(dialog: SignInDialog, element_id: str) -> bool:
    return run_js(dialog, f"document.getElementById({element_id!r}) !== null") is True


def dispose(dialog: SignInDialog) -> None:
    """Delete the dialog and let its engine objects go before the next test."""
    if not shiboken6.isValid(dialog):
        return
    dialog.close()
    dialog.deleteLater()
    QTest.qWait(300)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def files_containing(roots: list[Path], needle: bytes) -> list[Path]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server context whose certificate (for 127.0.0.1) nobody trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


# --- fixtures -----------------------------------------------------------------------------

PRIVATE_DIRS = ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


@pytest.fixture(scope="module", autouse=True)
def private_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    """HOME, the XDG folders and TMPDIR of the module's own, set before its first
    profile: whatever the engine writes anywhere for us lands in them."""
    base = tmp_path_factory.mktemp("signin-home")
    roots = []
    with pytest.MonkeyPatch.context() as patch:
        for name in (*PRIVATE_DIRS, "TMPDIR"):
            folder = base / name.lower()
            folder.mkdir()
            patch.setenv(name, str(folder))
            roots.append(folder)
        yield roots


@pytest.fixture(scope="module")
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


@pytest.fixture
def login_server() -> Iterator[LoginServer]:
    server = LoginServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dialog_for(app: QApplication) -> Iterator[Callable[[str], SignInDialog]]:
    made: list[SignInDialog] = []

    def make(base_url: str) -> SignInDialog:
        dialog = SignInDialog(base_url)
        made.append(dialog)
        dialog.show()
        return dialog

    yield make
    for dialog in made:
        dispose(dialog)


def open_login_page(dialog: SignInDialog) -> None:
    dialog.start()
    until(lambda: has_element(dialog, "login"), "the login form")


def sign_in(dialog: SignInDialog) -> None:
    run_js(
        dialog,
        f"""document.getElementById('username').value = {USER!r};
        document.getElementById('password').value = {PASSWORD!r};
        document.getElementById('login').requestSubmit(); true""",
    )


# --- tests --------------------------------------------------------------------------------


def test_signing_in_hands_over_the_session_cookies_and_writes_nothing(
    login_server: LoginServer,
    dialog_for: Callable[[str], SignInDialog],
    private_dirs: list[Path],
) -> None:
    dialog = dialog_for(login_server.base_url)
    seen: list[dict[str, str]] = []
    dialog.cookiesChanged.connect(seen.append)
    assert dialog.windowTitle() == "Sign in to 127.0.0.1"
    open_login_page(dialog)
    assert login_server.return_to == [login_server.base_url + "/"]
    assert "127.0.0.1" in dialog.status.text()
    assert not dialog.problem.isVisible()

    sign_in(dialog)
    expected = {"meet_sessionid": login_server.session, "csrftoken": login_server.csrf}
    until(lambda: seen and seen[-1] == expected, "both cookies through cookiesChanged")
    assert login_server.posted == [{"username": USER, "password": PASSWORD}]
    # Back on returnTo, and the browser itself sent the session back.
    until(lambda: has_element(dialog, "home"), "the page returnTo leads to")
    assert dialog.page.url().toString() == login_server.base_url + "/"
    assert login_server.home_cookies[-1] == expected
    assert dialog.cookies() == expected
    assert not dialog.problem.isVisible()

    dialog.succeed()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()
    dispose(dialog)
    QTest.qWait(700)
    for secret in (login_server.session, login_server.csrf, PASSWORD):
        assert files_containing(private_dirs, secret.encode()) == []


def test_cookies_follow_the_store_for_the_servers_host_only(
    login_server: LoginServer, dialog_for: Callable[[str], SignInDialog]
) -> None:
    dialog = dialog_for(login_server.base_url)
    seen: list[dict[str, str]] = []
    dialog.cookiesChanged.connect(seen.append)
    open_login_page(dialog)
    sign_in(dialog)
    until(lambda: seen and "meet_sessionid" in seen[-1], "the session cookie")
    # Another host's cookie in the same store is not the server's.
    store = dialog.profile.cookieStore()
    store.setCookie(QNetworkCookie(b"elsewhere", b"x"), QUrl("http://other.example/"))
    # The server ends the session: the cookie is removed, and the caller hears of it.
    dialog.page.load(QUrl(login_server.base_url + "/api/v1.0/logout/"))
    until(
        lambda: seen and seen[-1] == {"csrftoken": login_server.csrf},
        "the session cookie removed",
    )
    assert all("elsewhere" not in cookies for cookies in seen)


def test_a_server_that_is_down_is_a_message_then_retry_works(
    dialog_for: Callable[[str], SignInDialog],
) -> None:
    port = free_port()
    dialog = dialog_for(f"http://127.0.0.1:{port}")
    dialog.start()
    until(lambda: dialog.problem.isVisible(), "the problem message")
    assert "could not be loaded" in dialog.problem.text()
    assert "CONNECTION_REFUSED" in dialog.problem.text()
    assert dialog.isVisible() and dialog.retry_button.isVisible()

    server = LoginServer(port=port).start()
    try:
        QTest.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
        until(lambda: has_element(dialog, "login"), "the login form after retrying")
        assert not dialog.problem.isVisible() and not dialog.retry_button.isVisible()
    finally:
        server.stop()


def test_an_untrusted_certificate_stops_the_sign_in(
    dialog_for: Callable[[str], SignInDialog], tmp_path: Path
) -> None:
    server = LoginServer(ssl_context=self_signed(tmp_path)).start()
    try:
        dialog = dialog_for(server.base_url)
        dialog.start()
        until(lambda: dialog.problem.isVisible(), "the certificate problem")
        assert "certificate is not trusted" in dialog.problem.text()
        assert server.return_to == []
        assert dialog.isVisible()
    finally:
        server.stop()


def test_the_caller_can_show_a_problem(
    login_server: LoginServer, dialog_for: Callable[[str], SignInDialog]
) -> None:
    dialog = dialog_for(login_server.base_url)
    open_login_page(dialog)
    dialog.show_problem("The server did not confirm the sign-in.")
    assert dialog.problem.isVisible()
    assert dialog.problem.text() == "The server did not confirm the sign-in."
    QTest.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    assert not dialog.problem.isVisible()
    until(lambda: len(login_server.return_to) == 2, "the login page loaded again")


def test_links_for_a_new_window_open_in_the_same_view(
    login_server: LoginServer, dialog_for: Callable[[str], SignInDialog], app: QApplication
) -> None:
    dialog = dialog_for(login_server.base_url)
    open_login_page(dialog)
    windows = set(app.topLevelWidgets())
    run_js(dialog, "document.getElementById('help').click(); true")
    until(lambda: has_element(dialog, "helped"), "the help page in the dialog's view")
    assert dialog.page.url().path() == "/help/"
    assert set(app.topLevelWidgets()) == windows


def test_cancel_rejects(
    login_server: LoginServer, dialog_for: Callable[[str], SignInDialog]
) -> None:
    dialog = dialog_for(login_server.base_url)
    finished: list[int] = []
    dialog.finished.connect(finished.append)
    open_login_page(dialog)
    QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert finished == [QDialog.DialogCode.Rejected.value]
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not dialog.isVisible()


@pytest.mark.parametrize(
    ("host", "domain", "applies"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", ".0.0.1", False),
        ("visio.numerique.gouv.fr", "visio.numerique.gouv.fr", True),
        ("visio.numerique.gouv.fr", ".numerique.gouv.fr", True),
        ("visio.numerique.gouv.fr", "other.gouv.fr", False),
        ("visio.numerique.gouv.fr", "isio.numerique.gouv.fr", False),
        ("Visio.Example.org", ".EXAMPLE.org", True),
        ("::1", "[::1]", True),
        ("example.org", "", False),
    ],
)
def test_which_cookies_are_the_servers(host: str, domain: str, applies: bool) -> None:
    assert cookie_applies_to(host, domain) is applies


def test_the_module_imports_without_the_web_view() -> None:
    script = """
import sys
sys.modules["PySide6.QtWebEngineCore"] = None
sys.modules["PySide6.QtWebEngineWidgets"] = None
from client.ui import sign_in_dialog as module
assert not module.web_engine_available()
module.prepare_web_engine()
from PySide6.QtWidgets import QApplication
app = QApplication([])
try:
    module.SignInDialog("https://visio.example.org")
except module.WebEngineUnavailable:
    print("unavailable")
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unavailable"
