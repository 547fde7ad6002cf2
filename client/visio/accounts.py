"""The Visio servers we know, and who we are on each.

One ``VisioApi`` per server for the application's life (it holds the lobby cookie
and the CSRF token).  A sign-in is kept in the OS keychain (``SignInStore``); where
there is none, it is kept in memory for this run only and ``SignedIn.remembered``
says so, for the interface to tell the user.  Keychain calls block (D-Bus on
Linux): they run on a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from client.livekit import events as ev
from client.visio.api import CSRF_COOKIE, LOBBY_COOKIE, Account, VisioApi, VisioError
from client.visio.links import server_base
from client.visio.sign_in_store import KeychainUnavailable, SavedSignIn, SignInStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInChanged(ev.Event):
    """Who we are on ``host`` changed (``account`` None: signed out or expired)."""

    host: str
    account: Account | None
    #: False when the sign-in lives in memory only (no keychain on this machine).
    remembered: bool = True
    expired: bool = False


class VisioAccounts:
    def __init__(self, store: SignInStore | None = None, extra_ca_file: Path | None = None) -> None:
        self.store = store if store is not None else SignInStore()
        self.extra_ca_file = extra_ca_file
        self.events = ev.EventEmitter()
        self._apis: dict[str, VisioApi] = {}
        self._loaded: set[str] = set()
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        apis, self._apis = self._apis, {}
        for api in apis.values():
            await api.close()

    async def api(self, base_url: str) -> VisioApi:
        """The API of one server, with its saved sign-in (read once from the keychain)."""
        base = server_base(base_url)
        async with self._lock:
            api = self._apis.get(base)
            if api is None:
                api = VisioApi(base, extra_ca_file=self.extra_ca_file)
                self._apis[base] = api
            if base not in self._loaded:
                self._loaded.add(base)
                saved = await asyncio.to_thread(self._load, api.host)
                if saved is not None and api.sign_in is None:
                    api.sign_in = saved
            return api

    def _load(self, host: str) -> SavedSignIn | None:
        try:
            return self.store.load(host)
        except Exception:  # a keychain failing must not stop a join
            log.exception("cannot read the keychain")
            return None

    async def saved_user(self, base_url: str) -> str | None:
        """The name kept with our sign-in on that server (no network), or None."""
        api = await self.api(base_url)
        if api.sign_in is None:
            return None
        return api.sign_in.user_name or api.host

    async def who(self, base_url: str) -> Account | None:
        """Who we are on that server now (asks it); a forgotten session is signed out."""
        api = await self.api(base_url)
        if api.sign_in is None:
            return None
        try:
            account = await api.me()
        except VisioError as exc:
            if exc.kind in (VisioError.SESSION_EXPIRED, VisioError.SIGN_IN_REQUIRED):
                await self._drop(api, expired=True)
                return None
            raise
        return account

    async def adopt(self, base_url: str, cookies: dict[str, str]) -> Account | None:
        """Find the session among the cookies a sign-in page left (its name depends
        on the deployment, so each candidate is tried on ``users/me``); keep it."""
        api = await self.api(base_url)
        csrf = cookies.get(CSRF_COOKIE, "")
        for name, value in cookies.items():
            if name in (CSRF_COOKIE, LOBBY_COOKIE) or not value:
                continue
            candidate = VisioApi(api.base_url, extra_ca_file=self.extra_ca_file)
            candidate.sign_in = SavedSignIn(api.host, name, value, csrf)
            try:
                account = await candidate.me()
            except VisioError as exc:
                if exc.kind in (VisioError.SESSION_EXPIRED, VisioError.SIGN_IN_REQUIRED):
                    continue
                raise
            finally:
                await candidate.close()
            saved = SavedSignIn(api.host, name, value, csrf, account.display_name)
            api.sign_in = saved
            api.forget_lobby()
            remembered = await asyncio.to_thread(self._save, saved)
            self.events.emit(SignInChanged(api.host, account, remembered))
            return account
        return None

    def _save(self, saved: SavedSignIn) -> bool:
        try:
            self.store.save(saved)
        except KeychainUnavailable as exc:
            log.warning("the sign-in is kept for this run only: %s", exc)
            return False
        return True

    async def sign_out(self, base_url: str) -> None:
        """End the session on the server (if it answers) and forget it here."""
        api = await self.api(base_url)
        if api.sign_in is not None:
            try:
                await api.logout()
            except VisioError as exc:
                log.info("the server did not end the session: %s", exc.kind)
        await self._drop(api, expired=False)

    async def _drop(self, api: VisioApi, *, expired: bool) -> None:
        api.sign_in = None
        api.forget_lobby()
        await asyncio.to_thread(self._forget, api.host)
        self.events.emit(SignInChanged(api.host, None, expired=expired))

    def _forget(self, host: str) -> None:
        try:
            self.store.forget(host)
        except Exception:
            log.exception("cannot remove the sign-in from the keychain")
