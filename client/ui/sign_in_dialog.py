"""The sign-in window: the server's own login page (its identity provider's, as the
web app shows it) in an embedded browser view, and the cookies it leaves for the
server's host handed to the caller, which finds the session cookie among them.

Nothing the page stores reaches the disk: the view's profile is off the record
(cookies and cache live in memory only) and belongs to the dialog, so deleting the
dialog forgets the session; the caller keeps what it needs where secrets go.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from urllib.parse import quote, urlsplit

from PySide6.QtCore import QByteArray, QCoreApplication, Qt, QTimer, QUrl, Signal
from PySide6.QtNetwork import QNetworkCookie
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

try:
    from PySide6.QtWebEngineCore import (
        QWebEngineCertificateError,
        QWebEngineLoadingInfo,
        QWebEngineNewWindowRequest,
        QWebEnginePage,
        QWebEngineProfile,
    )
    from PySide6.QtWebEngineWidgets import QWebEngineView
except ImportError:  # a Qt build without the web view (some platforms' packages)
    _WEB_ENGINE = False
else:
    _WEB_ENGINE = True

log = logging.getLogger(__name__)

#: How long cookie changes settle before the caller hears of them: a login response
#: sets several at once, and each would otherwise cost the caller a users/me request.
COOKIES_SETTLE_MS = 100

#: Chromium's code for a navigation cancelled by another one (or by a download):
#: not a failure the user needs to hear about.
_ERR_ABORTED = -3


class WebEngineUnavailable(RuntimeError):
    """This Qt has no web view component: sign-in cannot be shown."""


def web_engine_available() -> bool:
    """Whether the embedded browser can be used (else sign-in cannot be offered)."""
    return _WEB_ENGINE


def prepare_web_engine() -> None:
    """What the embedded browser needs before the QApplication is created; call it
    first.  Harmless without the web view, or when called again."""
    if not _WEB_ENGINE:
        return
    _allow_running_as_root()
    if QCoreApplication.instance() is None:
        # Shared OpenGL contexts, which the web view's compositing may use.  Qt
        # takes the attribute only before the application exists; Qt WebEngine 6.11
        # also works without it (when another module made the application first).
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def _allow_running_as_root() -> None:
    """Chromium refuses to start as root with its sandbox on; the engine reads this
    variable when it first starts (the first profile), not at import."""
    if (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and "QTWEBENGINE_DISABLE_SANDBOX" not in os.environ
    ):
        log.info("running as root: the web view's sandbox is turned off")
        os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"


def cookie_applies_to(host: str, domain: str) -> bool:
    """Whether a cookie of ``domain`` (as the cookie store reports it: a leading dot
    for a domain cookie) is sent to ``host``: its own, or a parent domain's (never
    for an IP address)."""
    host = host.lower().strip("[]")
    domain = domain.lstrip(".").lower().strip("[]")
    if not domain:
        return False
    if domain == host:
        return True
    return not _is_ip(host) and host.endswith("." + domain)


def _cookie_host(base_url: str) -> str:
    host = urlsplit(base_url).hostname
    if not host:
        raise ValueError("the server address has no host")
    return host.lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _text(data: QByteArray) -> str:
    return bytes(data.data()).decode("utf-8", "replace")


class SignInDialog(QDialog):
    #: dict[str, str]: every cookie the view holds for the server's host (name ->
    #: value), each time it may have changed (after each page load, after changes).
    cookiesChanged = Signal(object)

    def __init__(self, base_url: str, parent: QWidget | None = None) -> None:
        if not _WEB_ENGINE:
            raise WebEngineUnavailable("this Qt has no web view component (QtWebEngine)")
        super().__init__(parent)
        _allow_running_as_root()
        self.base_url = base_url.rstrip("/")
        self.host = _cookie_host(self.base_url)
        #: (name, domain, path) -> value, for the server's host only.
        self._cookies: dict[tuple[str, str, str], str] = {}
        self.setWindowTitle(self.tr("Sign in to %1").replace("%1", self.host))
        self.setModal(True)
        # The theme's page background: its text colours are meant for it.
        self.setObjectName("page")
        self.resize(520, 720)

        # The view before the profile: children are deleted in the order they were
        # created, and the page (the view's child) must be gone before its profile.
        self.view = QWebEngineView(self)
        # No storage name: off the record, nothing written to disk.
        self.profile = QWebEngineProfile(self)
        self.page = QWebEnginePage(self.profile, self.view)
        self.view.setPage(self.page)
        self.view.setAccessibleName(self.tr("Sign-in page"))

        self.problem = QLabel(self)
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.status = QLabel(self)
        self.status.setObjectName("subtitle")
        buttons = QDialogButtonBox(self)
        retry = buttons.addButton(QDialogButtonBox.StandardButton.Retry)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        assert retry is not None and cancel is not None
        self.retry_button: QPushButton = retry
        self.cancel_button: QPushButton = cancel
        for button in (retry, cancel):
            # Enter belongs to the login form, never to these buttons.
            button.setAutoDefault(False)
            button.setDefault(False)
        retry.hide()
        retry.clicked.connect(self.start)
        cancel.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.problem)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(COOKIES_SETTLE_MS)
        self._settle.timeout.connect(self._emit_cookies)

        self.page.loadingChanged.connect(self._loading_changed)
        self.page.certificateError.connect(self._certificate_error)
        self.page.newWindowRequested.connect(self._new_window)
        self.page.renderProcessTerminated.connect(self._render_process_ended)
        store = self.profile.cookieStore()
        store.cookieAdded.connect(self._cookie_added)
        store.cookieRemoved.connect(self._cookie_removed)

    @property
    def authenticate_url(self) -> str:
        return f"{self.base_url}/api/v1.0/authenticate/?returnTo={quote(self.base_url + '/')}"

    def start(self) -> None:
        """Load the login page (again, after a problem)."""
        self.problem.hide()
        self.retry_button.hide()
        self.page.load(QUrl(self.authenticate_url))

    def succeed(self) -> None:
        """The caller confirmed the sign-in (users/me answered): close, accepted."""
        self.accept()

    def show_problem(self, message: str) -> None:
        """Say what went wrong; the dialog stays open and can try again."""
        self.problem.setText(message)
        self.problem.show()
        self.retry_button.show()

    def cookies(self) -> dict[str, str]:
        """The host's cookies by name; when a name is set under several paths, the
        most specific path wins (the one a browser sends first)."""
        ordered = sorted(self._cookies.items(), key=lambda item: len(item[0][2]))
        return {name: value for (name, _domain, _path), value in ordered}

    def done(self, result: int) -> None:
        self._settle.stop()
        self.page.triggerAction(QWebEnginePage.WebAction.Stop)
        super().done(result)

    # Page events.

    def _loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        status = info.status()
        url = info.url()
        if status == QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus:
            self.status.setText(self.tr("Loading %1…").replace("%1", url.host()))
            return
        if status == QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus:
            self._show_page_host(url)
        elif status == QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus and not info.isDownload():
            self._load_failed(info)
        else:
            self.status.clear()
        # A finished load is when the login response's cookies are all in.
        self._settle.start()

    def _show_page_host(self, url: QUrl) -> None:
        # No address bar: the host at least tells whose page asks for the password.
        if url.scheme() == "https":
            text = self.tr("%1 (secure connection)")
        else:
            text = self.tr("%1 (connection not encrypted)")
        self.status.setText(text.replace("%1", url.host()))

    def _load_failed(self, info: QWebEngineLoadingInfo) -> None:
        domain = info.errorDomain()
        code = info.errorCode()
        # The domain and code only: the address may carry the provider's one-time code.
        log.info("sign-in page did not load: %s %s", domain.name, code)
        self.status.clear()
        if code == _ERR_ABORTED:
            return
        reason = info.errorString() or str(code)
        domains = QWebEngineLoadingInfo.ErrorDomain
        if domain == domains.HttpStatusCodeDomain:
            message = self.tr("The server answered with an error (HTTP %1). Try again later.")
            reason = str(code)
        elif domain == domains.CertificateErrorDomain:
            message = self.tr(
                "The server's certificate is not trusted (%1): sign-in was stopped to keep "
                "your password safe."
            )
        else:
            message = self.tr(
                "The sign-in page could not be loaded (%1). Check your connection and try again."
            )
        self.show_problem(message.replace("%1", reason))

    def _certificate_error(self, error: QWebEngineCertificateError) -> None:
        log.warning("sign-in page certificate refused: %s", error.type().name)
        # Never accepted: the failed load that follows says so in the dialog.
        error.rejectCertificate()

    def _new_window(self, request: QWebEngineNewWindowRequest) -> None:
        # One view only: what the page opens elsewhere opens here, with a way back.
        self.page.load(request.requestedUrl())

    def _render_process_ended(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int
    ) -> None:
        if status == QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus:
            return
        log.warning("sign-in page renderer ended: %s %s", status.name, code)
        self.show_problem(self.tr("The sign-in page stopped unexpectedly. Try again."))

    # Cookies.

    def _for_host(self, cookie: QNetworkCookie) -> bool:
        return cookie_applies_to(self.host, cookie.domain())

    @staticmethod
    def _key(cookie: QNetworkCookie) -> tuple[str, str, str]:
        return (_text(cookie.name()), cookie.domain().lower(), cookie.path() or "/")

    def _cookie_added(self, cookie: QNetworkCookie) -> None:
        if self._for_host(cookie):
            self._cookies[self._key(cookie)] = _text(cookie.value())
            self._settle.start()

    def _cookie_removed(self, cookie: QNetworkCookie) -> None:
        if self._for_host(cookie) and self._cookies.pop(self._key(cookie), None) is not None:
            self._settle.start()

    def _emit_cookies(self) -> None:
        cookies = self.cookies()
        # Names only: values are secrets.
        log.debug("cookies for %s: %s", self.host, sorted(cookies))
        self.cookiesChanged.emit(cookies)
