"""On-disk cache of grounded data sets: grounded choices plus their graphs and paths.

Grounding and subgraph extraction of a benchmark depend on four things: the
knowledge graph, the linker settings, the extraction settings and the data
file. :class:`GroundingCache` keys a directory by the SHA-256 of all four (the
KG fingerprint, ``linker.settings``, the extraction settings, the file's
content hash) and stores a :class:`GroundedDataset` there as plain files:

``meta.json``
    format version, the key and its parts, counts, the SHA-256 of every file.
``grounded.json``
    the :class:`~kglm.grounding.GroundedChoice` of every choice, with mentions.
``graphs.safetensors`` / ``paths.safetensors``
    all :class:`~kglm.grounding.ChoiceGraph` / :class:`~kglm.grounding.ChoicePaths`
    concatenated, with ``*_ptr`` offsets per graph (``int64``).

Entries are written to a temporary directory and moved into place with
``os.replace``. A later run with the same inputs reads the entry back; an entry
whose files do not match their checksums or fail to parse is rebuilt with a
warning, and so is an older entry of the same data file made with other
inputs (it is removed). Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from kglm.grounding.ground import GroundedChoice

if TYPE_CHECKING:
    from kglm.grounding.graphs import ChoiceGraph
    from kglm.grounding.paths import ChoicePaths

__all__ = ["GroundedDataset", "GroundingCache", "build_grounded_dataset", "file_sha256"]

_FORMAT_VERSION = 1
_LONG = torch.long
_GRAPH_KEYS = ("node_ids", "node_type", "edge_index", "edge_type")


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class GroundedDataset:
    """Grounded examples of a data file, with optional graphs and paths.

    Attributes:
        grounded: ``grounded[i][j]`` grounds choice ``j`` of example ``i``.
        graphs: the 2-hop QA graph of each choice, same nesting, or ``None``.
        paths: the KagNet paths of each choice, same nesting, or ``None``.
        metadata: JSON-serialisable extras (for example the example ids).
    """

    grounded: list[list[GroundedChoice]]
    graphs: list[list[ChoiceGraph]] | None = None
    paths: list[list[ChoicePaths]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.grounded)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write to ``directory`` atomically (replacing it); return its path."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            self._write(tmp)
            _replace_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def _write(self, out: Path, extra_meta: Mapping[str, Any] | None = None) -> None:
        from safetensors.torch import save_file

        sizes = [len(choices) for choices in self.grounded]
        with open(out / "grounded.json", "w", encoding="utf-8") as f:
            json.dump(
                {"choices_per_example": sizes, "choices": [c.to_dict() for ex in self.grounded for c in ex]},
                f,
            )  # ASCII escapes: lone surrogates from JSON input survive the round trip
        if self.graphs is not None:
            _check_nesting(self.graphs, sizes, "graphs")
            save_file(_pack_graphs([g for ex in self.graphs for g in ex]), str(out / "graphs.safetensors"))
        if self.paths is not None:
            _check_nesting(self.paths, sizes, "paths")
            save_file(_pack_paths([p for ex in self.paths for p in ex]), str(out / "paths.safetensors"))
        files = sorted(p.name for p in out.iterdir())
        meta = {
            "format_version": _FORMAT_VERSION,
            "num_examples": len(sizes),
            "num_choices": sum(sizes),
            "metadata": self.metadata,
            **(extra_meta or {}),
            "files": {name: file_sha256(out / name) for name in files},
        }
        with open(out / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], verify: bool = True) -> GroundedDataset:
        """Read a directory written by :meth:`save` (or a cache entry).

        Args:
            verify: check every file against the SHA-256 recorded in ``meta.json``.

        Raises:
            FileNotFoundError: a file is missing.
            ValueError: a checksum mismatch or malformed content.
        """
        d = Path(directory)
        with open(d / "meta.json", encoding="utf-8") as f:
            meta = json.load(f)
        if not isinstance(meta, dict) or meta.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"{d}: unknown grounded data format")
        files = meta.get("files")
        if not isinstance(files, dict) or "grounded.json" not in files:
            raise ValueError(f"{d}/meta.json: no file list")
        if verify:
            for name, digest in files.items():
                if file_sha256(d / name) != digest:
                    raise ValueError(f"{d / name}: checksum mismatch")
        with open(d / "grounded.json", encoding="utf-8") as f:
            data = json.load(f)
        sizes = [int(n) for n in data["choices_per_example"]]
        flat = [GroundedChoice.from_dict(c) for c in data["choices"]]
        if sum(sizes) != len(flat) or any(n < 0 for n in sizes):
            raise ValueError(f"{d}/grounded.json: choice counts do not add up")
        graphs = paths = None
        if "graphs.safetensors" in files:
            graphs = _nest(_unpack_graphs(_load_tensors(d / "graphs.safetensors"), ""), sizes)
        if "paths.safetensors" in files:
            paths = _nest(_unpack_paths(_load_tensors(d / "paths.safetensors")), sizes)
        return cls(_nest(flat, sizes), graphs, paths, dict(meta.get("metadata") or {}))


class GroundingCache:
    """A directory of :class:`GroundedDataset` entries keyed by their inputs.

    Args:
        root: the cache directory; ``None`` = ``$KGLM_CACHE`` if set, else
            ``.kglm_cache`` in the current working directory.

    Example:
        >>> cache = GroundingCache("/tmp/kglm-cache")  # doctest: +SKIP
        >>> data = cache.load_or_build("dev.jsonl", kg, linker,
        ...     lambda: build_grounded_dataset(read_csqa("dev.jsonl"), kg, linker),
        ...     extraction={"graphs": "qa", "max_nodes": 200})  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str] | None = None):
        if root is None:
            root = os.environ.get("KGLM_CACHE") or ".kglm_cache"
        self.root = Path(root)
        self.last_hit: bool | None = None

    def __repr__(self) -> str:
        return f"GroundingCache({str(self.root)!r})"

    def key(
        self,
        data_file: str | os.PathLike[str],
        kg: Any,
        linker: Any,
        extraction: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The entry key (SHA-256 hex) and the parts it hashes."""
        settings = getattr(linker, "settings", None)
        parts = {
            "format_version": _FORMAT_VERSION,
            "kg_fingerprint": str(kg.fingerprint),
            "linker": settings if settings is not None else type(linker).__qualname__,
            "extraction": dict(extraction or {}),
            "data_sha256": file_sha256(data_file),
        }
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest(), parts

    def path(self, key: str) -> Path:
        """Directory of the entry ``key``."""
        return self.root / key

    def load_or_build(
        self,
        data_file: str | os.PathLike[str],
        kg: Any,
        linker: Any,
        build_fn: Callable[[], GroundedDataset],
        extraction: Mapping[str, Any] | None = None,
    ) -> GroundedDataset:
        """Return the cached entry for these inputs, or ``build_fn()`` (then stored).

        Args:
            data_file: the data file the examples were read from (its bytes are hashed).
            kg: the knowledge graph (its ``fingerprint`` is hashed).
            linker: the linker (its ``settings`` are hashed).
            build_fn: makes the :class:`GroundedDataset` on a miss.
            extraction: the graph / path extraction settings (hashed).

        ``self.last_hit`` tells afterwards whether the cache was used.
        """
        key, parts = self.key(data_file, kg, linker, extraction)
        entry = self.path(key)
        pointer = self.root / "latest" / (hashlib.sha256(str(Path(data_file).resolve()).encode()).hexdigest() + ".json")
        if entry.exists():
            try:
                data = GroundedDataset.load(entry)
                self.last_hit = True
                return data
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                warnings.warn(f"grounding cache entry {entry} is corrupt ({exc}); rebuilding", stacklevel=2)
                shutil.rmtree(entry, ignore_errors=True)
        else:
            old = _read_pointer(pointer)
            if old is not None and old != key and self.path(old).exists():
                warnings.warn(
                    f"grounding cache for {data_file} is stale (the KG, linker, extraction settings "
                    f"or the file changed); rebuilding",
                    stacklevel=2,
                )
                shutil.rmtree(self.path(old), ignore_errors=True)
        self.last_hit = False
        data = build_fn()
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            data._write(tmp, {"key": key, "key_parts": parts, "data_file": str(data_file)})
            _replace_dir(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _write_pointer(pointer, key, str(data_file))
        return data


def build_grounded_dataset(
    examples: Sequence[Any],
    kg: Any,
    linker: Any,
    graphs: str | None = "qa",
    max_nodes: int | None = 200,
    hops: int = 2,
    max_hops: int = 3,
    max_paths_per_pair: int | None = 64,
    n_process: int = 1,
    show_progress: bool | None = None,
) -> GroundedDataset:
    """Ground ``examples`` and extract their graphs: what the ``kglm ground`` command caches.

    Args:
        examples: multiple-choice examples (``question``, ``choices``, optional ``id``).
        kg: the knowledge graph.
        linker: the entity linker.
        graphs: ``"qa"`` (2-hop QA graphs), ``"paths"`` (KagNet paths), ``"both"``
            or ``None`` (grounding only).
        max_nodes, hops: for :func:`~kglm.grounding.extract_qa_subgraph`.
        max_hops, max_paths_per_pair: for :func:`~kglm.grounding.find_paths`.
        n_process: worker processes for linking.
        show_progress: tqdm bars; ``None`` = for large inputs only.
    """
    from kglm.grounding.ground import ground_examples

    if graphs not in (None, "qa", "paths", "both"):
        raise ValueError(f"graphs must be 'qa', 'paths', 'both' or None, not {graphs!r}")
    examples = list(examples)
    grounded = ground_examples(linker, examples, n_process=n_process, show_progress=show_progress)
    sizes = [len(ex) for ex in grounded]
    pairs = [(c.question_entities, c.answer_entities) for ex in grounded for c in ex]
    progress = len(pairs) >= 1000 if show_progress is None else show_progress
    qa = paths = None
    if graphs in ("qa", "both"):
        from kglm.grounding.graphs import extract_qa_subgraphs

        qa = _nest(extract_qa_subgraphs(kg, pairs, max_nodes=max_nodes, hops=hops, progress=progress), sizes)
    if graphs in ("paths", "both"):
        from kglm.grounding.paths import find_paths_batch

        found = find_paths_batch(kg, pairs, max_hops=max_hops, max_paths_per_pair=max_paths_per_pair, progress=progress)
        paths = _nest(found, sizes)
    ids = [str(getattr(ex, "id", i)) for i, ex in enumerate(examples)]
    return GroundedDataset(grounded, qa, paths, {"ids": ids})


# ---------------------------------------------------------------------------- packing


def _nest(flat: list[Any], sizes: Sequence[int]) -> list[list[Any]]:
    if len(flat) != sum(sizes):
        raise ValueError(f"{len(flat)} items for {sum(sizes)} choices")
    out, pos = [], 0
    for n in sizes:
        out.append(flat[pos : pos + n])
        pos += n
    return out


def _check_nesting(nested: Sequence[Sequence[Any]], sizes: Sequence[int], what: str) -> None:
    if [len(x) for x in nested] != list(sizes):
        raise ValueError(f"{what} must have one entry per choice of every example")


def _ptr(counts: Sequence[int]) -> torch.Tensor:
    ptr = torch.zeros(len(counts) + 1, dtype=_LONG)
    if counts:
        ptr[1:] = torch.cumsum(torch.as_tensor(list(counts), dtype=_LONG), 0)
    return ptr


def _pack_graphs(graphs: Sequence[ChoiceGraph], prefix: str = "") -> dict[str, torch.Tensor]:
    def cat(parts: list[torch.Tensor], dim: int, empty: tuple[int, ...]) -> torch.Tensor:
        return torch.cat(parts, dim).contiguous() if parts else torch.empty(empty, dtype=_LONG)

    return {
        f"{prefix}node_ids": cat([g.node_ids.to(_LONG) for g in graphs], 0, (0,)),
        f"{prefix}node_type": cat([g.node_type.to(_LONG) for g in graphs], 0, (0,)),
        f"{prefix}node_ptr": _ptr([int(g.node_ids.shape[0]) for g in graphs]),
        f"{prefix}edge_index": cat([g.edge_index.to(_LONG) for g in graphs], 1, (2, 0)),
        f"{prefix}edge_type": cat([g.edge_type.to(_LONG) for g in graphs], 0, (0,)),
        f"{prefix}edge_ptr": _ptr([int(g.edge_type.shape[0]) for g in graphs]),
    }


def _segments(ptr: torch.Tensor, total: int, what: str) -> list[tuple[int, int]]:
    if ptr.dim() != 1 or ptr.numel() < 1 or int(ptr[0]) != 0 or int(ptr[-1]) != total or bool((ptr[1:] < ptr[:-1]).any()):
        raise ValueError(f"{what} offsets are inconsistent")
    p = ptr.tolist()
    return list(zip(p[:-1], p[1:]))


def _unpack_graphs(t: Mapping[str, torch.Tensor], prefix: str) -> list[ChoiceGraph]:
    from kglm.grounding.graphs import ChoiceGraph

    nodes = _segments(t[f"{prefix}node_ptr"], t[f"{prefix}node_ids"].shape[0], "node")
    edges = _segments(t[f"{prefix}edge_ptr"], t[f"{prefix}edge_type"].shape[0], "edge")
    if len(nodes) != len(edges):
        raise ValueError("node and edge offsets disagree")
    out = []
    for (a, b), (c, d) in zip(nodes, edges):
        parts = {
            "node_ids": t[f"{prefix}node_ids"][a:b],
            "node_type": t[f"{prefix}node_type"][a:b],
            "edge_index": t[f"{prefix}edge_index"][:, c:d],
            "edge_type": t[f"{prefix}edge_type"][c:d],
        }
        out.append(ChoiceGraph.from_dict(parts))
    return out


def _pack_paths(paths: Sequence[ChoicePaths]) -> dict[str, torch.Tensor]:
    width = max((p.path_relations.shape[1] for p in paths), default=0)
    nodes, rels = [], []
    for p in paths:
        k = p.path_relations.shape[1]
        pad = width - k
        nodes.append(torch.nn.functional.pad(p.path_nodes.to(_LONG), (0, pad), value=-1))
        rels.append(torch.nn.functional.pad(p.path_relations.to(_LONG), (0, pad), value=-1))
    out = _pack_graphs([p.graph for p in paths], prefix="graph.")
    out["path_nodes"] = torch.cat(nodes, 0).contiguous() if nodes else torch.empty(0, width + 1, dtype=_LONG)
    out["path_relations"] = torch.cat(rels, 0).contiguous() if rels else torch.empty(0, width, dtype=_LONG)
    out["path_length"] = (
        torch.cat([p.path_length.to(_LONG) for p in paths]).contiguous() if paths else torch.empty(0, dtype=_LONG)
    )
    out["path_ptr"] = _ptr([int(p.path_length.shape[0]) for p in paths])
    out["path_width"] = torch.as_tensor([int(p.path_relations.shape[1]) for p in paths], dtype=_LONG)
    return out


def _unpack_paths(t: Mapping[str, torch.Tensor]) -> list[ChoicePaths]:
    from kglm.grounding.paths import ChoicePaths

    graphs = _unpack_graphs(t, "graph.")
    segs = _segments(t["path_ptr"], t["path_length"].shape[0], "path")
    widths = t["path_width"].tolist()
    if not (len(segs) == len(graphs) == len(widths)):
        raise ValueError("path offsets disagree with the graphs")
    out = []
    for g, (a, b), k in zip(graphs, segs, widths):
        data = {
            **g.to_dict(),
            "path_nodes": t["path_nodes"][a:b, : k + 1],
            "path_relations": t["path_relations"][a:b, :k],
            "path_length": t["path_length"][a:b],
        }
        out.append(ChoicePaths.from_dict(data))
    return out


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types on bad headers
        raise ValueError(f"{path}: {exc}") from None


def _read_pointer(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            key = json.load(f)["key"]
        return key if isinstance(key, str) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_pointer(path: Path, key: str, data_file: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps({"key": key, "data_file": data_file}), encoding="utf-8")
    os.replace(tmp, path)


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` onto ``target`` (replacing it)."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
