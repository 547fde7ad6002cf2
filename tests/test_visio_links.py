"""Visio room links in the forms people paste, and what is not one."""

from __future__ import annotations

import pytest

from client.livekit import errors
from client.meeting_link import LinkError, MeetingLink, parse_join_target
from client.visio.links import VisioLink, VisioLinkError, parse_visio_link, server_base

STATE = "https://visio.numerique.gouv.fr"


@pytest.mark.parametrize(
    "text",
    [
        "https://visio.numerique.gouv.fr/abc-defg-hij",
        "  https://visio.numerique.gouv.fr/abc-defg-hij  ",
        "https://visio.numerique.gouv.fr/abc-defg-hij/",
        "https://visio.numerique.gouv.fr/abc-defg-hij?utm=mail#x",
        "https://visio.numerique.gouv.fr/abcdefghij",
        "https://visio.numerique.gouv.fr/ABC-DEFG-HIJ",
        "https://VISIO.numerique.gouv.fr/AbcDefgHij",
        "visio://visio.numerique.gouv.fr/abc-defg-hij",
        "visio.numerique.gouv.fr/abc-defg-hij",
    ],
)
def test_room_links_in_every_form(text: str) -> None:
    link = parse_visio_link(text)
    assert link == VisioLink(STATE, "abc-defg-hij")
    assert link.url == f"{STATE}/abc-defg-hij"
    assert link.host == "visio.numerique.gouv.fr"


def test_named_rooms_and_ports_are_kept() -> None:
    link = parse_visio_link("https://meet.example.org:8443/reunion-hebdo")
    assert link == VisioLink("https://meet.example.org:8443", "reunion-hebdo")
    assert link.host == "meet.example.org:8443"


def test_plain_http_only_towards_this_machine_or_a_private_network() -> None:
    assert (
        parse_visio_link("http://127.0.0.1:8080/abc-defg-hij").base_url == "http://127.0.0.1:8080"
    )
    assert parse_visio_link("http://10.1.2.3/abc-defg-hij").base_url == "http://10.1.2.3"
    with pytest.raises(errors.InsecureTransportError):
        parse_visio_link("http://visio.numerique.gouv.fr/abc-defg-hij")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://visio.numerique.gouv.fr/",
        "https://visio.numerique.gouv.fr/api/v1.0/rooms",
        "https://visio.numerique.gouv.fr/abc-defg-hij/extra",
        "https://visio.numerique.gouv.fr/Réunion",
        "https://visio.numerique.gouv.fr/a_b",
        "ftp://visio.numerique.gouv.fr/abc-defg-hij",
        "wss://lk.example.org/abc-defg-hij",
        "https://exa mple.org/abc-defg-hij",
        "https://visio.numerique.gouv.fr:99999/abc-defg-hij",
        "https://[not-ipv6]/abc-defg-hij",
        "https://visio.numerique.gouv.fr/login",
    ],
)
def test_what_is_not_a_room_link(text: str) -> None:
    with pytest.raises(VisioLinkError):
        parse_visio_link(text)


def test_server_addresses() -> None:
    assert server_base("visio.numerique.gouv.fr") == STATE
    assert server_base("https://visio.numerique.gouv.fr/") == STATE
    assert server_base("https://[::1]:8443") == "https://[::1]:8443"


def test_a_link_with_a_token_is_a_livekit_link_and_one_without_is_visio() -> None:
    token = "aaa.bbb.ccc"
    assert parse_join_target(f"wss://lk.example.org?token={token}") == MeetingLink(
        "wss://lk.example.org", token
    )
    assert parse_join_target("https://lk.example.org", token) == MeetingLink(
        "wss://lk.example.org", token
    )
    assert parse_join_target(f"{STATE}/abc-defg-hij") == VisioLink(STATE, "abc-defg-hij")
    with pytest.raises(LinkError, match="token"):
        parse_join_target("wss://lk.example.org")


def test_a_room_code_alone_goes_to_the_chosen_server() -> None:
    other = "https://visio.other.example"
    assert parse_join_target("abc-defg-hij", default_server=other) == VisioLink(
        other, "abc-defg-hij"
    )
    assert parse_join_target("ABCDEFGHIJ", default_server=other).slug == "abc-defg-hij"
    with pytest.raises(LinkError):
        parse_join_target("not a link at all", default_server=other)
