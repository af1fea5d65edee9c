"""Grounding as a function of a batch of examples: processes, shards, merging, export.

Grounding one example (its entities, QA graph and paths) depends only on that
example, the KG and the linker, so a data set can be cut anywhere and the parts
grounded separately (:func:`ground_batch`): in worker processes on one machine
(:func:`ground_parallel`, ``kglm ground --num-proc N``) or as shards on many
(:func:`shard_bounds`, ``kglm ground --shard I/N``), then put back together in
order (:func:`merge_grounded`, ``kglm ground-merge``). The result is the same,
byte for byte once saved, whatever the split.

:func:`to_hf_dataset` exports grounded examples as a Hugging Face
``datasets.Dataset``.
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from kglm.grounding.cache import GroundedDataset, build_grounded_dataset

__all__ = ["ground_batch", "ground_parallel", "merge_grounded", "parse_shard", "shard_bounds", "to_hf_dataset"]


def shard_bounds(num_examples: int, index: int, count: int) -> tuple[int, int]:
    """``(start, end)`` of shard ``index`` (0-based) of ``count`` contiguous, near-equal shards."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: need 0 <= index < count")
    return num_examples * index // count, num_examples * (index + 1) // count


def parse_shard(spec: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``, checked (``I`` counts from 0)."""
    try:
        index, count = (int(x) for x in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard {spec!r}: expected I/N, e.g. 0/4 (I counts from 0)") from None
    shard_bounds(0, index, count)
    return index, count


def ground_batch(examples: Sequence[Any], kg: Any, linker: Any, **options: Any) -> GroundedDataset:
    """Ground and extract graphs for a batch of examples (:func:`~kglm.grounding.build_grounded_dataset`).

    ``metadata["ids"]`` holds the example ids, in order.
    """
    return build_grounded_dataset(list(examples), kg, linker, **options)


def merge_grounded(parts: Iterable[GroundedDataset]) -> GroundedDataset:
    """Concatenate grounded batches in order; the inverse of any split.

    The parts must agree on which graphs they hold; shard bookkeeping in the
    metadata (``shard``, ``num_examples_total``) is dropped, other metadata
    keys must be equal, ``ids`` are concatenated.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to merge")
    kinds = {(p.graphs is None, p.paths is None) for p in parts}
    if len(kinds) != 1:
        raise ValueError("the parts do not hold the same kinds of graphs")
    meta: dict[str, Any] = {}
    for p in parts:
        for key, value in p.metadata.items():
            if key in ("ids", "shard", "num_examples_total"):
                continue
            if key in meta and meta[key] != value:
                raise ValueError(f"the parts disagree on metadata {key!r}")
            meta[key] = value
    meta["ids"] = [i for p in parts for i in p.metadata.get("ids", [])]
    no_graphs, no_paths = kinds.pop()
    return GroundedDataset(
        [ex for p in parts for ex in p.grounded],
        None if no_graphs else [ex for p in parts for ex in p.graphs],  # type: ignore[union-attr]
        None if no_paths else [ex for p in parts for ex in p.paths],  # type: ignore[union-attr]
        meta,
    )


_STATE: dict[str, Any] = {}


def _init_worker(threads: int) -> None:
    from kglm.utils.machine import apply_threads

    apply_threads(threads)


def _work(bounds: tuple[int, int]) -> GroundedDataset:
    start, end = bounds
    return ground_batch(_STATE["examples"][start:end], _STATE["kg"], _STATE["linker"], **_STATE["options"])


def ground_parallel(
    examples: Sequence[Any],
    kg: Any,
    linker: Any,
    num_proc: int = 1,
    chunks_per_proc: int = 4,
    threads: int = 1,
    show_progress: bool | None = None,
    **options: Any,
) -> GroundedDataset:
    """:func:`ground_batch` over ``num_proc`` worker processes; same result as one process.

    The examples are cut into ``num_proc * chunks_per_proc`` contiguous chunks,
    grounded by forked workers (which share the loaded KG and linker) and merged
    in order. Without the ``fork`` start method (Windows, macOS defaults) it
    warns and runs in this process.

    Args:
        num_proc: worker processes; ``1`` grounds here.
        threads: torch / BLAS threads per worker.
        show_progress: tqdm bar over the chunks (``None``: for 1,000 examples or more).
        **options: as for :func:`~kglm.grounding.build_grounded_dataset`.
    """
    examples = list(examples)
    if num_proc < 1:
        raise ValueError("num_proc must be >= 1")
    if num_proc == 1 or len(examples) < 2:
        return ground_batch(examples, kg, linker, show_progress=show_progress, **options)
    if "fork" not in multiprocessing.get_all_start_methods():
        warnings.warn("num_proc > 1 needs the 'fork' start method; grounding in one process", stacklevel=2)
        return ground_batch(examples, kg, linker, show_progress=show_progress, **options)
    from tqdm.auto import tqdm

    count = min(len(examples), num_proc * max(1, chunks_per_proc))
    bounds = [shard_bounds(len(examples), i, count) for i in range(count)]
    _STATE.update(examples=examples, kg=kg, linker=linker, options={**options, "show_progress": False})
    show = len(examples) >= 1000 if show_progress is None else show_progress
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(num_proc, initializer=_init_worker, initargs=(threads,)) as pool:
            parts = list(
                tqdm(pool.imap(_work, bounds), total=len(bounds), desc="grounding", unit="chunk", disable=not show)
            )
    finally:
        _STATE.clear()
    return merge_grounded(parts)


def to_hf_dataset(examples: Sequence[Any], grounded: GroundedDataset, kg: Any = None) -> Any:
    """Grounded examples as a Hugging Face ``datasets.Dataset``, one row per example.

    Columns: ``id``, ``question``, ``choices``, ``label`` (``-1`` when unknown),
    ``question_entities`` and ``answer_entities`` (per choice, lists of entity
    ids), and with ``kg`` also ``question_entity_names`` / ``answer_entity_names``.
    Graphs are not exported (they stay in the :class:`GroundedDataset` files).

    Raises:
        ImportError: the ``datasets`` package is not installed.
        ValueError: ``examples`` and ``grounded`` differ in length.
    """
    import datasets

    examples = list(examples)
    if len(examples) != len(grounded.grounded):
        raise ValueError(f"{len(examples)} examples but {len(grounded.grounded)} grounded examples")
    rows: dict[str, list[Any]] = {
        "id": [str(ex.id) for ex in examples],
        "question": [ex.question for ex in examples],
        "choices": [list(ex.choices) for ex in examples],
        "label": [-1 if ex.label is None else int(ex.label) for ex in examples],
        "question_entities": [[list(c.question_entities) for c in g] for g in grounded.grounded],
        "answer_entities": [[list(c.answer_entities) for c in g] for g in grounded.grounded],
    }
    if kg is not None:
        names = kg.entities
        rows["question_entity_names"] = [[[names[i] for i in ids] for ids in ex] for ex in rows["question_entities"]]
        rows["answer_entity_names"] = [[[names[i] for i in ids] for ids in ex] for ex in rows["answer_entities"]]
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "choices": datasets.Sequence(datasets.Value("string")),
            "label": datasets.Value("int64"),
            "question_entities": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
            "answer_entities": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
            **(
                {
                    "question_entity_names": datasets.Sequence(datasets.Sequence(datasets.Value("string"))),
                    "answer_entity_names": datasets.Sequence(datasets.Sequence(datasets.Value("string"))),
                }
                if kg is not None
                else {}
            ),
        }
    )
    return datasets.Dataset.from_dict(rows, features=features)
