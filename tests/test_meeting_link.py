"""Meeting links as users paste them."""

from __future__ import annotations

import pytest

from client.livekit import errors
from client.meeting_link import LinkError, parse_meeting_link

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"


@pytest.mark.parametrize(
    "text",
    [
        f"wss://meet.example.org?token={TOKEN}",
        f"  wss://meet.example.org/?access_token={TOKEN}  ",
        f"https://meet.example.org#token={TOKEN}",
        f"https://meet.livekit.io/custom?liveKitUrl=wss://meet.example.org&token={TOKEN}",
    ],
)
def test_accepted_forms(text: str) -> None:
    link = parse_meeting_link(text)
    assert link.url == "wss://meet.example.org"
    assert link.token == TOKEN
    assert link.server == "meet.example.org"


def test_token_given_apart() -> None:
    assert parse_meeting_link("wss://h.example", TOKEN).token == TOKEN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("hello there", "not a meeting server"),
        ("wss://meet.example.org", "no access token"),
        ("wss://meet.example.org?token=abc", "malformed"),
        ("ftp://x?token=a.b.c", "not a meeting server"),
    ],
)
def test_malformed_links_say_why(text: str, message: str) -> None:
    with pytest.raises(LinkError, match=message):
        parse_meeting_link(text)


def test_plain_ws_to_a_public_host_is_refused() -> None:
    with pytest.raises(errors.InsecureTransportError):
        parse_meeting_link(f"ws://meet.example.org?token={TOKEN}")
