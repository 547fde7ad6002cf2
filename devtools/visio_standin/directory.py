"""The stand-in's accounts and rooms, and who holds which role in which room.

Visio identifies a signed-in person by the OIDC ``sub``; their API ``id`` is a separate
UUID.  A room is reached by its UUID or by its slug (the slug of its name), and the
slug can never look like a UUID, so the two lookups cannot collide.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "AccessLevel",
    "Directory",
    "DirectoryError",
    "Role",
    "StandInRoom",
    "StandInUser",
    "parse_uuid",
    "slugify",
]

_PASSWORD_ROUNDS = 20_000


class AccessLevel(StrEnum):
    PUBLIC = "public"  # anyone joins at once
    TRUSTED = "trusted"  # signed-in people join at once, guests wait in the lobby
    RESTRICTED = "restricted"  # only people holding a role join at once


class Role(StrEnum):
    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    MEMBER = "member"

    @property
    def is_host(self) -> bool:
        """Hosts admit guests and get ``roomAdmin`` in their meeting token."""
        return self in (Role.OWNER, Role.ADMINISTRATOR)


# Strongest first: someone listed twice holds the strongest of their roles.
_ROLE_ORDER = (Role.OWNER, Role.ADMINISTRATOR, Role.MEMBER)


class DirectoryError(ValueError):
    """A user or room cannot be added as asked."""


def slugify(value: str) -> str:
    """Lowercase ASCII words joined by single dashes, as Visio turns names into slugs."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    kept = re.sub(r"[^\w\s-]", "", ascii_text.lower())
    return re.sub(r"[-\s]+", "-", kept).strip("-_")


def parse_uuid(value: str) -> str | None:
    """The canonical form of a UUID written any way Python accepts, else None."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class StandInUser:
    sub: str
    email: str
    full_name: str
    short_name: str = ""
    #: The API id (``users/me/``), not the meeting identity (that is ``sub``).
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    language: str = "en-us"
    timezone: str = "UTC"
    _password_salt: bytes = field(default=b"", repr=False, compare=False)
    _password_hash: bytes = field(default=b"", repr=False, compare=False)

    @property
    def display_name(self) -> str:
        """What the token carries when no username is given."""
        return self.full_name or self.email or self.id

    def checks_password(self, password: str) -> bool:
        if not self._password_hash:
            return False
        candidate = _hash_password(password, self._password_salt)
        return hmac.compare_digest(candidate, self._password_hash)

    def to_api(self) -> dict[str, Any]:
        """The ``users/me/`` body."""
        return {
            "id": self.id,
            "email": self.email,
            "full_name": self.full_name,
            "short_name": self.short_name,
            "timezone": self.timezone,
            "language": self.language,
            "default_room_access_level": None,
            "default_room_configuration": {},
        }


@dataclass(frozen=True)
class StandInRoom:
    id: str
    slug: str
    name: str
    access_level: AccessLevel
    configuration: Mapping[str, Any] = field(default_factory=dict)
    #: sub -> role
    roles: Mapping[str, Role] = field(default_factory=dict)
    #: sub -> the id of that role grant (the API lists grants with their ids)
    access_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        return self.access_level is AccessLevel.PUBLIC

    def role_of(self, user: StandInUser | None) -> Role | None:
        return None if user is None else self.roles.get(user.sub)


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ROUNDS)


class Directory:
    """Users by sub and rooms by id, safe to read and change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, StandInUser] = {}
        self._rooms: dict[str, StandInRoom] = {}

    def add_user(
        self, sub: str, email: str, full_name: str, password: str, *, short_name: str = ""
    ) -> StandInUser:
        if not sub or not email:
            raise DirectoryError("a user needs a sub and an email")
        salt = secrets.token_bytes(16)
        user = StandInUser(
            sub=sub,
            email=email,
            full_name=full_name,
            short_name=short_name or (full_name.split()[0] if full_name.split() else ""),
            _password_salt=salt,
            _password_hash=_hash_password(password, salt),
        )
        with self._lock:
            if sub in self._users:
                raise DirectoryError(f"user {sub!r} already exists")
            if any(u.email.lower() == email.lower() for u in self._users.values()):
                raise DirectoryError(f"email {email!r} is taken")
            self._users[sub] = user
        return user

    def user(self, sub: str) -> StandInUser | None:
        with self._lock:
            return self._users.get(sub)

    def user_by_email(self, email: str) -> StandInUser | None:
        wanted = email.strip().lower()
        with self._lock:
            return next((u for u in self._users.values() if u.email.lower() == wanted), None)

    def add_room(
        self,
        slug: str,
        *,
        name: str = "",
        access_level: str = AccessLevel.PUBLIC,
        configuration: Mapping[str, Any] | None = None,
        grants: Iterable[tuple[str, Role]] = (),
    ) -> StandInRoom:
        clean = slugify(slug or name)
        if not clean:
            raise DirectoryError(f"no slug can be made of {slug!r}")
        if parse_uuid(clean) is not None:
            raise DirectoryError(f"room slug {clean!r} is reserved: it reads as a UUID")
        level = AccessLevel(access_level)
        roles: dict[str, Role] = {}
        for sub, role in grants:
            if sub not in roles or _ROLE_ORDER.index(role) < _ROLE_ORDER.index(roles[sub]):
                roles[sub] = role
        room = StandInRoom(
            id=str(uuid.uuid4()),
            slug=clean,
            name=name or clean,
            access_level=level,
            configuration=MappingProxyType(dict(configuration or {})),
            roles=MappingProxyType(roles),
            access_ids=MappingProxyType({sub: str(uuid.uuid4()) for sub in roles}),
        )
        with self._lock:
            missing = [sub for sub in roles if sub not in self._users]
            if missing:
                raise DirectoryError(f"unknown users {missing}: add_user them first")
            if any(r.slug == clean for r in self._rooms.values()):
                raise DirectoryError(f"room {clean!r} already exists")
            self._rooms[room.id] = room
        return room

    def find_room(self, key: str) -> StandInRoom | None:
        """By UUID (any spelling) if ``key`` is one, else by the slug of ``key``."""
        room_id = parse_uuid(key)
        with self._lock:
            if room_id is not None:
                return self._rooms.get(room_id)
            slug = slugify(key)
            return next((r for r in self._rooms.values() if r.slug == slug), None)

    def rooms_of(self, user: StandInUser) -> list[StandInRoom]:
        with self._lock:
            return [r for r in self._rooms.values() if user.sub in r.roles]

    def set_access_level(self, room_id: str, access_level: str) -> StandInRoom:
        with self._lock:
            room = replace(self._rooms[room_id], access_level=AccessLevel(access_level))
            self._rooms[room_id] = room
        return room

    def grant(self, room_id: str, sub: str, role: Role) -> StandInRoom:
        with self._lock:
            if sub not in self._users:
                raise DirectoryError(f"unknown user {sub!r}")
            room = self._rooms[room_id]
            room = replace(
                room,
                roles=MappingProxyType({**room.roles, sub: role}),
                access_ids=MappingProxyType(
                    {**room.access_ids, sub: room.access_ids.get(sub, str(uuid.uuid4()))}
                ),
            )
            self._rooms[room_id] = room
        return room
