"""A short fuzzing pass: the hypothesis properties and a brief coverage-guided run.

``make fuzz`` runs the long campaign.  Inputs that broke the client once are
replayed as regressions.  A bug found and not fixed yet goes in
``KNOWN_CLIENT_BUGS``: its reproducer becomes a strict xfail (a failure once it
is fixed, so the entry gets moved to the regressions), and the fuzzing tests set
its signature aside, so they keep checking everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.livekit import events as ev
from devtools.fuzz import campaign, inputs, properties, seeds, targets
from devtools.fuzz.findings import FuzzFinding

#: Inputs that broke the client once (found by these fuzzers, fixed since): each
#: must stay harmless.  (byte target, input in hex, what it did.)
REGRESSIONS: list[tuple[str, str, str]] = [
    (
        "signal",
        "0015002a130a110a0450415f6312056361726f6c1802704d",
        "a participant kind this protocol package does not name (Kind.Name raised)",
    ),
    ("signal", "0004004202104d", "an unknown leave reason (DisconnectReason.Name raised)"),
    (
        "signal",
        "000700b201040801104d",
        "an unknown request_response reason (RequestResponse.Reason.Name raised)",
    ),
    (
        "chat_json",
        (b'{"message":"x","timestamp":1' + b"0" * 400 + b"}").hex(),
        "a chat timestamp too large for a float (math.isfinite raised)",
    ),
    (
        "chat_json",
        (b'{"message":"x","timestamp":' + b"9" * 4400 + b"}").hex(),
        "an integer over 4300 digits (json.loads raised through decode_json)",
    ),
    (
        "chat_json",
        (b'{"message":"x","id":' + b"[" * 5000 + b"]" * 5000 + b"}").hex(),
        "nesting past the recursion limit (json.loads raised through decode_json)",
    ),
    (
        "ice",
        b'{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ host","sdpMLineIndex":1e999}'.hex(),
        "an infinite sdpMLineIndex (OverflowError from parse_candidate_init)",
    ),
    (
        "ice",
        (b"[" * 5000 + b"]" * 5000).hex(),
        "nesting past the recursion limit (RecursionError from parse_candidate_init)",
    ),
]

#: Bugs found and not fixed yet: (exception, client file, function) of the innermost
#: client frame -> (byte target, input in hex).  The fuzzing tests set these aside;
#: each entry's reproducer is a strict xfail below, which fails once it is fixed.
KNOWN_CLIENT_BUGS: dict[tuple[str, str, str], tuple[str, str]] = {}

_SIGNATURE = re.compile(r"^(?:logged )?(\w+)@(\S+):\d+ \((\w+)\)$")


def known_bug(signature: str) -> bool:
    match = _SIGNATURE.match(signature)
    return match is not None and (match[1], match[2], match[3]) in KNOWN_CLIENT_BUGS


@pytest.fixture
def client_logs_captured() -> Iterator[None]:
    with targets.captured_client_logs():
        yield


@pytest.mark.parametrize(("target", "hex_input", "what"), REGRESSIONS)
def test_a_found_bug_stays_fixed(
    client_logs_captured: None, target: str, hex_input: str, what: str
) -> None:
    targets.run_alone(target, bytes.fromhex(hex_input))


if KNOWN_CLIENT_BUGS:
    # Only while some are listed: an empty parameter set would show as a skip.

    @pytest.mark.parametrize(
        ("signature", "target", "hex_input"),
        [(f"{k[0]}@{k[1]} ({k[2]})", *v) for k, v in KNOWN_CLIENT_BUGS.items()],
    )
    @pytest.mark.xfail(strict=True, reason="a client bug found by fuzzing, not fixed yet")
    def test_known_client_bug_is_fixed(
        client_logs_captured: None, signature: str, target: str, hex_input: str
    ) -> None:
        targets.run_alone(target, bytes.fromhex(hex_input))


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_seed_inputs_are_clean(client_logs_captured: None, target: str) -> None:
    for seed in seeds.SEEDS[target]():
        targets.run_alone(target, seed)


def test_a_stream_completed_by_another_sender_would_be_reported(
    client_logs_captured: None,
) -> None:
    """The harness sees through the emitter: a wrong sender is a finding, not a log line."""
    harness = targets.RoomHarness()
    harness._headers["s-1"] = {("alice", "PA_alice")}
    harness._sender = ("mallory", "PA_mallory")  # who the harness saw send the next event
    harness._check_stream_sender(
        ev.TextStreamUpdated(
            stream_id="s-1",
            topic="lk.chat",
            text="x",
            attributes={},
            sender_identity="alice",
            participant=None,
            done=True,
        )
    )
    with pytest.raises(FuzzFinding, match="another sender"):
        harness._check()


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=10))
@settings(max_examples=200, deadline=None)
def test_frames_round_trip(frames: list[tuple[int, bytes]]) -> None:
    assert inputs.split_frames(inputs.join_frames(frames)) == frames


@pytest.mark.parametrize("prop", properties.PROPERTIES, ids=lambda p: p.name)
def test_property(prop: properties.Property) -> None:
    heavy = prop.name in ("packets", "solo_stream", "participants")
    result = properties.run_property(
        prop, 200 if heavy else 300, tolerate=known_bug, derandomize=True
    )
    assert result.findings == []
    assert result.examples > 0


def test_short_coverage_guided_run() -> None:
    report = campaign.run(
        20_000,
        names=["signal", "data"],
        with_properties=False,
        tolerate=known_bug,
        seed=1,
    )
    assert report.inputs >= 20_000
    assert report.findings == []
    assert report.hangs == 0 and report.ooms == 0
    assert report.peak_rss_mb < 1024
