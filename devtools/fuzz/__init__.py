"""Fuzzing of every parser of untrusted input: signaling frames, data packets, JSON.

``targets`` is the only module that calls into the client.  ``python -m devtools.fuzz``
runs the coverage-guided (atheris) targets, each in its own process, and a
property-based (hypothesis) pass; ``tests/test_fuzz.py`` runs a short pass of both.
"""
