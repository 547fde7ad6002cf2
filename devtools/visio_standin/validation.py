"""Request bodies checked the way Visio's REST framework checks them, same messages.

Clients show or log these messages, and some of them branch on them (an anonymous
403 says "Authentication credentials were not provided."), so the stand-in words its
refusals as the real server does.  Every field is checked before answering, so one 400
lists every problem at once, keyed by field name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "NOT_AUTHENTICATED",
    "NO_PERMISSION",
    "NO_ROOM",
    "ApiError",
    "Fields",
    "read_json_body",
]

NOT_AUTHENTICATED = "Authentication credentials were not provided."
NO_PERMISSION = "You do not have permission to perform this action."
NO_ROOM = "No Room matches the given query."

# The spellings the REST framework reads as booleans (True and False match 1 and 0).
_TRUE: frozenset[object] = frozenset(
    {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
)
_FALSE: frozenset[object] = frozenset(
    {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}
)


class ApiError(Exception):
    """Answer the request with ``status`` and the JSON ``body``."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    @classmethod
    def detail(cls, status: int, message: str, **headers: str) -> ApiError:
        return cls(status, {"detail": message}, headers=headers)


async def read_json_body(request: web.Request) -> object:
    """The request's JSON body; no body reads as an empty object, like a form without fields."""
    raw = await request.read()
    if not raw:
        return {}
    if request.content_type != "application/json":
        content_type = request.headers.get("Content-Type", "")
        raise ApiError.detail(415, f'Unsupported media type "{content_type}" in request.')
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError.detail(400, f"JSON parse error - {exc}") from None


class Fields:
    """Pulls typed fields out of a decoded body, collecting the errors."""

    def __init__(self, data: object) -> None:
        if data is None:
            raise ApiError(400, {"non_field_errors": ["No data provided"]})
        if not isinstance(data, dict):
            raise ApiError(
                400,
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
                    ]
                },
            )
        self._data: dict[str, Any] = data
        self.errors: dict[str, list[str]] = {}

    def _fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def _present(self, name: str, required: bool) -> bool:
        if name not in self._data:
            if required:
                self._fail(name, "This field is required.")
            return False
        if self._data[name] is None:
            self._fail(name, "This field may not be null.")
            return False
        return True

    def text(
        self,
        name: str,
        *,
        required: bool = True,
        min_length: int | None = None,
        max_length: int | None = None,
    ) -> str:
        if not self._present(name, required):
            return ""
        value = self._data[name]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self._fail(name, "Not a valid string.")
            return ""
        text = str(value).strip()
        if not text:
            self._fail(name, "This field may not be blank.")
        elif max_length is not None and len(text) > max_length:
            self._fail(name, f"Ensure this field has no more than {max_length} characters.")
        elif min_length is not None and len(text) < min_length:
            self._fail(name, f"Ensure this field has at least {min_length} characters.")
        return text

    def boolean(self, name: str) -> bool:
        if not self._present(name, True):
            return False
        value = self._data[name]
        try:
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
        except TypeError:  # unhashable: a list or an object
            pass
        self._fail(name, "Must be a valid boolean.")
        return False

    def uuid(self, name: str) -> str:
        if not self._present(name, True):
            return ""
        value = self._data[name]
        try:
            if isinstance(value, int) and not isinstance(value, bool):
                return str(uuid.UUID(int=value))
            if isinstance(value, str):
                return str(uuid.UUID(hex=value))
        except ValueError:
            pass
        self._fail(name, "Must be a valid UUID.")
        return ""

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        if not self._present(name, False):
            return None
        value = self._data[name]
        if isinstance(value, str) and value in choices:
            return value
        self._fail(name, f'"{value}" is not a valid choice.')
        return None

    def mapping(self, name: str) -> dict[str, Any] | None:
        if not self._present(name, False):
            return None
        value = self._data[name]
        if isinstance(value, dict):
            return value
        self._fail(name, f'Expected a dictionary of items but got type "{type(value).__name__}".')
        return None

    def check(self) -> None:
        if self.errors:
            raise ApiError(400, self.errors)
