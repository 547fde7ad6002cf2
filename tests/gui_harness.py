"""Moved to ``devtools.app_driver``."""

from devtools.app_driver import PeerLoop, StallMeter, run_app, until

__all__ = ["PeerLoop", "StallMeter", "run_app", "until"]
