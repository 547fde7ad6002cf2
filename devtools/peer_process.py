"""Peers in a process of their own: how the benchmarks and tests start them.

A peer program (``devtools.sdk_peers``, ``devtools.replay_peers``) takes its
tokens one per line on stdin, so they never appear in a process list or a
traceback, and prints "ready" once every peer publishes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable


def launch_peers(
    module: str,
    options: list[str],
    url: str,
    tokens: list[str],
    netns: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """``python -m module *options url`` with the tokens through a pipe (never in a
    process list or a traceback); returns once it prints "ready".  With ``netns`` (a
    name under /run/netns) it runs in that network namespace."""
    # `ip netns exec` execs the command, so the Popen pid is still the peers' process.
    prefix = [] if netns is None else ["ip", "netns", "exec", netns]
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", module, *options, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{token}\n" for token in tokens))
    process.stdin.close()
    if process.stdout.readline().strip() != "ready":
        process.kill()
        process.wait()
        raise RuntimeError(f"the peers of {module} did not start")
    return process


def given_tokens(arguments: argparse.Namespace) -> list[str]:
    """The tokens on the command line, else one per line on stdin."""
    tokens: list[str] = arguments.tokens
    return tokens or [line.strip() for line in sys.stdin if line.strip()]
