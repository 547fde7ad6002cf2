"""The Qt interface: widgets and view-models that observe the core and command it.

Nothing here runs media: the core has its own asyncio loop in a thread of its own
(``core_thread``); ``bridge`` carries its events to the Qt thread and commands back.
"""
