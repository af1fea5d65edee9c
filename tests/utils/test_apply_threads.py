"""kglm.utils.machine.apply_threads: the one way the CLI and the grounding workers set CPU threads."""

from __future__ import annotations

import pytest
import torch

from kglm.cli import _common
from kglm.grounding import parallel
from kglm.utils.machine import apply_threads


def test_sets_torch_threads_and_checks_the_count() -> None:
    before = torch.get_num_threads()
    try:
        assert apply_threads(2) == 2 == torch.get_num_threads()
        assert apply_threads(None) == 2  # None: leave as it is
        with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
            apply_threads(0)
        parallel._init_worker(1)  # the grounding workers' initialiser goes through it too
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert _common.apply_threads is apply_threads
