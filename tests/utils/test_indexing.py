"""Shared index helpers (kglm/utils/indexing.py): CSR segments and int64 key packing with its overflow guard."""

from __future__ import annotations

import pytest
import torch

from kglm.utils.indexing import csr_segments, key_space_fits, pack_keys, segment_owner, segment_ranges, unpack_keys


def test_segments_match_a_python_loop() -> None:
    ptr = torch.tensor([0, 2, 2, 5, 6])
    rows = torch.tensor([2, 0, 1, 2, 3])
    owner, position = csr_segments(ptr, rows)
    expected = [(i, p) for i, r in enumerate(rows.tolist()) for p in range(ptr[r], ptr[r + 1])]
    assert list(zip(owner.tolist(), position.tolist())) == expected
    assert segment_ranges(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long))[0].numel() == 0


def test_pack_keys_sorts_like_rows_and_guards_overflow() -> None:
    rows = torch.tensor([[1, 0, 2], [0, 2, 1], [1, 0, 1], [0, 0, 0]])
    keys = pack_keys(rows.unbind(1), (2, 3, 3))
    assert keys.argsort().tolist() == sorted(range(4), key=lambda i: rows[i].tolist())
    assert key_space_fits((2**31, 2**31)) and not key_space_fits((2**32, 2**31, 2))
    with pytest.raises(OverflowError, match="do not fit in int64"):
        pack_keys((rows[:, 0], rows[:, 1]), (2**40, 2**30))


def test_unpack_keys_inverts_pack_keys() -> None:
    rows = torch.tensor([[1, 0, 2], [0, 2, 1], [1, 0, 1], [0, 0, 0], [1, 2, 2]])
    sizes = (2, 3, 3)
    columns = unpack_keys(pack_keys(rows.unbind(1), sizes), sizes)
    assert torch.equal(torch.stack(columns, 1), rows)
    # a zero size (an empty KG) packs and unpacks like a size of one
    assert [c.tolist() for c in unpack_keys(pack_keys((rows[:, 0], rows[:, 0] * 0), (2, 0)), (2, 0))] == [
        rows[:, 0].tolist(),
        [0] * 5,
    ]


def test_segment_owner_matches_a_python_loop() -> None:
    count = torch.tensor([2, 0, 3, 1])
    assert segment_owner(count).tolist() == [i for i, c in enumerate(count.tolist()) for _ in range(c)]
    assert segment_owner(count, 6).tolist() == segment_owner(count).tolist()
    assert segment_owner(torch.zeros(0, dtype=torch.long)).numel() == 0
