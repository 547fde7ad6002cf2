"""Local sandbox for tests, the benchmark and the demo.

A real livekit-server runs inside a private network namespace together with every
participant, so WebRTC (which gathers candidates on every interface) never touches the
machine's real network. Nothing here is needed to join a real Visio/LiveKit meeting.
"""
