"""Fixtures of the kglm.nn tests."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    """Run these tiny-tensor tests on one intra-op thread (restored afterwards).

    On a busy machine torch's thread pool spin-waits for cores it cannot get and
    tiny ops slow down 10-100x; one thread is also the fastest for these sizes.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
