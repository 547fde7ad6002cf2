"""A private Secret Service for each test: gnome-keyring on a D-Bus session bus of its
own (devtools/secret_service.py), with this process's environment and keyring pointed
at it for the test's duration.  Starting one takes about 0.1 s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.secret_service import SecretServiceSession
from devtools.secret_service import secret_service as start_secret_service


@pytest.fixture
def secret_service() -> Iterator[SecretServiceSession]:
    with start_secret_service() as session, session.use_in_this_process():
        yield session
