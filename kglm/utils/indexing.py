"""Vectorised index helpers shared by the KG, grounding and model code.

* :func:`segment_owner`: the segment of each entry of consecutive segments;
* :func:`segment_ranges` / :func:`csr_segments`: gather variable-length
  segments (CSR rows) in one shot, with the owner of each gathered entry;
* :func:`pack_keys`: several small non-negative integer columns as one int64
  key (``(a * size_b + b) * size_c + c``), so rows can be sorted, searched and
  deduplicated with 1-D ops; it refuses key spaces that do not fit in int64;
  :func:`unpack_keys` splits such keys back into their columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["segment_owner", "segment_ranges", "csr_segments", "pack_keys", "unpack_keys", "key_space_fits"]

_INT64_LIMIT = 2**63


def segment_owner(count: torch.Tensor, total: int | None = None) -> torch.Tensor:
    """``i`` repeated ``count[i]`` times for every ``i``: the owner of each entry of
    consecutive segments of these sizes (``total``: ``count.sum()`` when known).

    Example:
        >>> segment_owner(torch.tensor([2, 0, 3]))
        tensor([0, 0, 2, 2, 2])
    """
    if total is None:
        total = int(count.sum()) if count.numel() else 0
    return torch.repeat_interleave(torch.arange(count.numel()), count, output_size=total)


def segment_ranges(start: torch.Tensor, count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened ``start[i] .. start[i] + count[i] - 1`` for every ``i``, with the owner ``i`` of each entry.

    Returns:
        ``(owner, position)``, both int64 of length ``count.sum()``.

    Example:
        >>> segment_ranges(torch.tensor([5, 0]), torch.tensor([2, 3]))
        (tensor([0, 0, 1, 1, 1]), tensor([5, 6, 0, 1, 2]))
    """
    total = int(count.sum()) if count.numel() else 0
    owner = segment_owner(count, total)
    offset = torch.cumsum(count, 0) - count
    return owner, torch.arange(total) + (start - offset)[owner]


def csr_segments(ptr: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row id, the CSR positions ``ptr[row] .. ptr[row + 1] - 1``, flattened.

    Returns:
        ``(owner, position)``: index into ``rows`` of each gathered entry and its CSR position.
    """
    start = ptr[rows]
    return segment_ranges(start, ptr[rows + 1] - start)


def key_space_fits(sizes: Sequence[int]) -> bool:
    """Whether keys of columns with these sizes (exclusive upper bounds) fit in int64."""
    return math.prod(max(int(s), 1) for s in sizes) < _INT64_LIMIT


def pack_keys(columns: Sequence[torch.Tensor], sizes: Sequence[int]) -> torch.Tensor:
    """One int64 key per row: ``((c0 * sizes[1] + c1) * sizes[2] + c2) ...``.

    Keys sort like the rows sorted lexicographically. ``sizes[i]`` bounds column
    ``i`` (``0 <= c_i < sizes[i]``; ``sizes[0]`` only enters the overflow check).

    Raises:
        OverflowError: when the key space (the product of ``sizes``) does not fit in int64.
    """
    if len(columns) != len(sizes) or not columns:
        raise ValueError("pack_keys needs one size per column and at least one column")
    if not key_space_fits(sizes):
        raise OverflowError(f"keys over column sizes {list(sizes)} do not fit in int64")
    key = columns[0]
    for column, size in zip(columns[1:], sizes[1:]):
        key = key * max(int(size), 1) + column
    return key


def unpack_keys(keys: torch.Tensor, sizes: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """The columns of keys made by :func:`pack_keys` with the same ``sizes``.

    Example:
        >>> keys = pack_keys((torch.tensor([1, 0]), torch.tensor([2, 4])), (2, 5))
        >>> keys.tolist(), [c.tolist() for c in unpack_keys(keys, (2, 5))]
        ([7, 4], [[1, 0], [2, 4]])
    """
    if not sizes:
        raise ValueError("unpack_keys needs at least one size")
    columns = []
    for size in reversed(sizes[1:]):
        size = max(int(size), 1)
        high = torch.div(keys, size, rounding_mode="floor")
        columns.append(keys - high * size)
        keys = high
    columns.append(keys)
    return tuple(reversed(columns))
