"""Shared fixtures of the security suite: every test runs under a wall-clock alarm (a hang fails, not blocks CI)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

#: seconds any one security test may take: hostile input must be refused fast
TEST_DEADLINE = 60


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - not POSIX
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"security test ran past {TEST_DEADLINE} s (a hang on hostile input)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_DEADLINE)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
