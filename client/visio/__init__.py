"""Visio (La Suite Meet): its meeting links, its web API, its lobby and sign-in.

Qt-free.  The LiveKit side of a Visio meeting is an ordinary LiveKit room; what is
Visio's own is here: finding the room from a link, waiting in the lobby, the session
cookie of a signed-in user, and the calls the web app makes during a meeting
(raising a hand, starting captions, admitting guests).
"""
