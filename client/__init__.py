"""Visio Desktop: a desktop meeting client for Visio (La Suite Meet) and LiveKit."""

__version__ = "0.1.0"
