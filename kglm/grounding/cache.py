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

Layout under the cache root (:func:`kglm.utils.paths.cache_dir`)::

    grounding/<key>/...            one entry (key = 64 hex digits)
    grounding/index/<h>.json       the entries of one data file (h = SHA-256 of its path)

A data file keeps up to ``max_entries_per_file`` entries (one per setting:
KG, linker, extraction), least recently used evicted first, so alternating two
settings on one file reuses both. Entries made from an older version of the
file's content are removed with a "stale" warning; an entry whose files do not
match their checksums or fail to parse is rebuilt with a "corrupt" warning.

The cache never follows a path it did not make: keys read from disk must be 64
lower-case hex digits, entries must be real directories directly under
``grounding/`` (a symlink is unlinked, never followed or deleted through),
files are opened without following symlinks and must be regular files, the
only file names read are the four above, and JSON is read with a size bound
(a deeply nested or huge file is "corrupt", not a hang or a crash). Entries
are written with :func:`kglm.utils.io.atomic_directory`. Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from kglm.errors import IntegrityError, MissingResourceError, UnsafeInputError
from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_NODES, DEFAULT_MAX_PATHS_PER_PAIR, DEFAULT_QA_HOPS
from kglm.grounding.ground import GroundedChoice
from kglm.utils.checksums import file_sha256  # re-exported: kglm.grounding.cache.file_sha256
from kglm.utils.io import atomic_directory, atomic_write_json, parse_json
from kglm.utils.paths import cache_dir

if TYPE_CHECKING:
    from kglm.grounding.graphs import ChoiceGraph
    from kglm.grounding.paths import ChoicePaths
    from kglm.linking.mention import Mention

__all__ = ["GroundedDataset", "GroundingCache", "build_grounded_dataset", "file_sha256"]

_log = logging.getLogger(__name__)

_FORMAT_VERSION = 2
_LONG = torch.long
_GRAPH_KEYS = ("node_ids", "node_type", "edge_index", "edge_type")
_KEY_RE = re.compile(r"[0-9a-f]{64}")
#: the only file names a grounded data directory may hold (besides meta.json)
_DATA_FILES = ("grounded.json", "graphs.safetensors", "paths.safetensors")
_META_LIMIT = 64 << 20  # meta.json holds counts, checksums and the example ids
_INDEX_LIMIT = 1 << 20
_DATA_LIMIT = 4 << 30
#: what a corrupt or hostile entry can raise while being read
_LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, MemoryError)


def _is_key(key: Any) -> bool:
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


def _open_regular(path: Path, limit: int) -> int:
    """Open ``path`` for reading without following a symlink; it must be a regular file of at most ``limit`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise MissingResourceError(f"{path}: missing") from None
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeInputError(f"{path}: is a symbolic link; not following it") from None
        raise IntegrityError(f"{path}: cannot be opened ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise IntegrityError(f"{path}: not a regular file")
    if st.st_size > limit:
        os.close(fd)
        raise IntegrityError(f"{path}: {st.st_size} bytes, more than the {limit} allowed")
    return fd


def _read_regular(path: Path, limit: int) -> bytes:
    fd = _open_regular(path, limit)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise IntegrityError(f"{path}: more than {limit} bytes")
    return data


def _sha256_regular(path: Path, limit: int = _DATA_LIMIT) -> str:
    with os.fdopen(_open_regular(path, limit), "rb") as f:
        return file_sha256(f)


def _read_json(path: Path, limit: int) -> Any:
    """Parse a JSON file with a size bound; malformed or too deeply nested content is an :class:`IntegrityError`."""
    return parse_json(_read_regular(path, limit), path, IntegrityError)


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
        with atomic_directory(target) as tmp:
            self._write(tmp)
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

        Only ``meta.json`` and the three data files are read, never through a
        symlink, and only if they are regular files; JSON is read with a size
        bound.

        Args:
            verify: check every file against the SHA-256 recorded in ``meta.json``.

        Raises:
            MissingResourceError: a file is missing (a ``FileNotFoundError``).
            IntegrityError: a checksum mismatch, malformed or hostile content (a ``ValueError``).
            UnsafeInputError: a file is a symbolic link.
        """
        return _load_dataset(Path(directory), verify)[0]


#: what reading a damaged or hostile ``grounded.json`` raises (turned into :func:`_malformed`)
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


def _malformed(path: Path, exc: BaseException) -> IntegrityError:
    return IntegrityError(f"{path}: malformed ({type(exc).__name__}: {exc})")


def _load_dataset(d: Path, verify: bool, num_entities: int | None = None) -> tuple[GroundedDataset, dict[str, Any]]:
    meta = _read_json(d / "meta.json", _META_LIMIT)
    if not isinstance(meta, dict) or meta.get("format_version") != _FORMAT_VERSION:
        raise IntegrityError(f"{d}/meta.json: unknown grounded data format")
    files = meta.get("files")
    if not isinstance(files, dict) or "grounded.json" not in files:
        raise IntegrityError(f"{d}/meta.json: no file list")
    for name, digest in files.items():
        if name not in _DATA_FILES or not _is_key(digest):
            raise IntegrityError(f"{d}/meta.json: unexpected file entry {str(name)[:80]!r}")
    if verify:
        for name, digest in files.items():
            if _sha256_regular(d / name) != digest:
                raise IntegrityError(f"{d / name}: checksum mismatch")
    data = _read_json(d / "grounded.json", _DATA_LIMIT)
    try:
        sizes = [int(n) for n in data["choices_per_example"]]
        choices = data.pop("choices")
    except _MALFORMED as exc:
        raise _malformed(d / "grounded.json", exc) from None
    if not isinstance(choices, list) or sum(sizes) != len(choices) or any(n < 0 for n in sizes):
        raise IntegrityError(f"{d}/grounded.json: choice counts do not add up")
    try:
        # the choices of one question share their equal mentions (the question's), every string is
        # stored once, and each parsed dict is dropped once read: less memory, and a lower peak
        flat: list[GroundedChoice] = []
        strings: dict[str, str] = {}
        for n in sizes:
            mentions: dict[tuple[Any, ...], Mention] = {}
            for i in range(len(flat), len(flat) + n):
                flat.append(GroundedChoice.from_dict(choices[i], mentions, strings))
                choices[i] = None
    except _MALFORMED as exc:
        raise _malformed(d / "grounded.json", exc) from None
    if num_entities is not None:
        ids = [i for c in flat for i in (*c.question_entities, *c.answer_entities)]
        if ids and (min(ids) < 0 or max(ids) >= num_entities):
            raise IntegrityError(f"{d}/grounded.json: entity id outside [0, {num_entities})")
    graphs = paths = None
    try:
        if "graphs.safetensors" in files:
            t = _load_tensors(d / "graphs.safetensors")
            _check_ids(t, "node_ids", num_entities, d / "graphs.safetensors")
            graphs = _nest(_unpack_graphs(t, ""), sizes)
        if "paths.safetensors" in files:
            t = _load_tensors(d / "paths.safetensors")
            _check_ids(t, "graph.node_ids", num_entities, d / "paths.safetensors")
            paths = _nest(_unpack_paths(t), sizes)
    except IntegrityError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise IntegrityError(f"{d}: malformed tensors ({type(exc).__name__}: {exc})") from None
    metadata = meta.get("metadata")
    return GroundedDataset(_nest(flat, sizes), graphs, paths, dict(metadata) if isinstance(metadata, dict) else {}), meta


def _check_ids(t: Mapping[str, torch.Tensor], name: str, num_entities: int | None, path: Path) -> None:
    if num_entities is None:
        return
    ids = t.get(name)
    if ids is not None and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_entities):
        raise IntegrityError(f"{path}: {name} holds an entity id outside [0, {num_entities})")


class GroundingCache:
    """A directory of :class:`GroundedDataset` entries keyed by their inputs.

    Args:
        root: the cache root; ``None`` = :func:`kglm.utils.paths.cache_dir`
            (``$KGLM_CACHE`` if set, else ``.kglm_cache`` in the current
            working directory). Entries live under ``root/grounding``.
        max_entries_per_file: how many settings of one data file are kept
            (least recently used evicted first).

    After :meth:`load_or_build`, ``last_hit`` tells whether the cache was used
    and ``last_status`` why: ``"hit"``, ``"new"`` (no entry for this file),
    ``"other-settings"`` (entries for this file exist for other settings; they
    are kept), ``"stale"`` (the file's content changed: old entries removed),
    ``"corrupt"`` (the entry was damaged and rebuilt) or ``"uncached"`` (the
    cache directory is unusable: built without caching, with a warning).

    Example:
        >>> cache = GroundingCache("/tmp/kglm-cache")  # doctest: +SKIP
        >>> data = cache.load_or_build("dev.jsonl", kg, linker,
        ...     lambda: build_grounded_dataset(read_csqa("dev.jsonl"), kg, linker),
        ...     extraction={"graphs": "qa", "max_nodes": 200})  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, max_entries_per_file: int = 4):
        if max_entries_per_file < 1:
            raise ValueError(f"max_entries_per_file must be >= 1, got {max_entries_per_file}")
        self.root = cache_dir(root)
        self.dir = self.root / "grounding"
        self.max_entries_per_file = int(max_entries_per_file)
        self.last_hit: bool | None = None
        self.last_status: str | None = None

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
        return hashlib.sha256(blob.encode("utf-8")).hexdigest(), json.loads(json.dumps(parts, default=str))

    def path(self, key: str) -> Path:
        """Directory of the entry ``key`` (64 lower-case hex digits).

        Raises:
            UnsafeInputError: ``key`` is not a key this cache makes.
        """
        if not _is_key(key):
            raise UnsafeInputError(f"grounding cache key {str(key)[:80]!r} is not 64 hex digits")
        return self.dir / key

    def entries(self, data_file: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """The cached entries of ``data_file``: ``{"key", "parts", "used"}``, most recently used last."""
        return [e for e in self._read_index(self._index_path(data_file)) if self._is_entry_dir(e["key"])]

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

        ``self.last_hit`` / ``self.last_status`` tell afterwards what happened.
        """
        key, parts = self.key(data_file, kg, linker, extraction)
        try:
            self._check_dir()
        except UnsafeInputError as exc:
            warnings.warn(f"{exc}; building without the grounding cache", stacklevel=2)
            self.last_hit, self.last_status = False, "uncached"
            return build_fn()
        entry = self.path(key)
        index_path = self._index_path(data_file)
        index = self._read_index(index_path)
        num_entities = getattr(kg, "num_entities", None)
        status = "new"
        if os.path.lexists(entry):
            try:
                if entry.is_symlink() or not entry.is_dir():
                    raise UnsafeInputError(f"{entry} is not a directory this cache made")
                data, meta = _load_dataset(entry, True, int(num_entities) if num_entities is not None else None)
                if meta.get("key") != key:
                    raise IntegrityError(f"{entry}/meta.json: records another key")
            except _LOAD_ERRORS as exc:
                warnings.warn(f"grounding cache entry {entry} is corrupt ({exc}); rebuilding", stacklevel=2)
                self._remove(key)
                status = "corrupt"
            else:
                self.last_hit, self.last_status = True, "hit"
                self._write_index(index_path, data_file, _touch(index, key, parts))
                return data
        others = [e for e in index if e["key"] != key and self._is_entry_dir(e["key"])]
        stale = [e for e in others if e["parts"].get("data_sha256") != parts["data_sha256"]]
        if stale:
            warnings.warn(
                f"grounding cache for {data_file} is stale (the file changed since "
                f"{len(stale)} entr{'y was' if len(stale) == 1 else 'ies were'} made); rebuilding",
                stacklevel=2,
            )
            for e in stale:
                self._remove(e["key"])
            status = "stale"
        elif others and status == "new":
            differ = sorted({k for e in others for k in parts if e["parts"].get(k) != parts[k]})
            _log.info(
                "grounding cache: building %s for new settings (%s differ from the %d cached entr%s, kept)",
                data_file, ", ".join(differ) or "settings", len(others), "y" if len(others) == 1 else "ies",
            )
            status = "other-settings"
        self.last_hit, self.last_status = False, status
        data = build_fn()
        with atomic_directory(entry) as tmp:
            data._write(tmp, {"key": key, "key_parts": parts, "data_file": str(data_file)})
        stale_keys = {e["key"] for e in stale}
        kept = [e for e in index if e["key"] not in stale_keys and self._is_entry_dir(e["key"])]
        kept = _touch(kept, key, parts)
        while len(kept) > self.max_entries_per_file:
            self._remove(kept.pop(0)["key"])
        self._write_index(index_path, data_file, kept)
        return data

    # ------------------------------------------------------------------ internals

    def _check_dir(self) -> None:
        """``root/grounding`` must be a real directory (created if missing), not a symlink."""
        for d in (self.dir, self.dir / "index"):
            if os.path.lexists(d) and (d.is_symlink() or not d.is_dir()):
                raise UnsafeInputError(f"grounding cache directory {d} is a symbolic link or not a directory")
            d.mkdir(parents=True, exist_ok=True)

    def _index_path(self, data_file: str | os.PathLike[str]) -> Path:
        digest = hashlib.sha256(str(Path(data_file).resolve()).encode("utf-8", "surrogateescape")).hexdigest()
        return self.dir / "index" / f"{digest}.json"

    def _read_index(self, path: Path) -> list[dict[str, Any]]:
        """The validated entries of an index file (invalid ones dropped with a warning)."""
        if not os.path.lexists(path):
            return []
        try:
            raw = _read_json(path, _INDEX_LIMIT)
            items = raw.get("entries") if isinstance(raw, dict) else None
            if not isinstance(items, list):
                raise IntegrityError(f"{path}: no entry list")
        except (OSError, ValueError) as exc:
            warnings.warn(f"grounding cache index {path} is unreadable ({exc}); ignoring it", stacklevel=3)
            return []
        out = []
        for item in items:
            if not isinstance(item, dict) or not _is_key(item.get("key")) or not isinstance(item.get("parts"), dict):
                warnings.warn(f"grounding cache index {path}: ignoring an invalid entry", stacklevel=3)
                continue
            used = item.get("used")
            out.append({"key": item["key"], "parts": item["parts"], "used": float(used) if isinstance(used, (int, float)) else 0.0})
        out.sort(key=lambda e: e["used"])
        return out

    def _write_index(self, path: Path, data_file: str | os.PathLike[str], entries: list[dict[str, Any]]) -> None:
        atomic_write_json(path, {"data_file": str(data_file), "entries": entries}, indent=1)

    def _is_entry_dir(self, key: str) -> bool:
        p = self.path(key)
        return p.is_dir() and not p.is_symlink()

    def _remove(self, key: str) -> None:
        """Delete the entry ``key``: a real directory directly under ``root/grounding`` (a symlink is only unlinked)."""
        p = self.path(key)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode) and p.resolve().parent == self.dir.resolve():
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.unlink(p)
            except OSError:
                pass


def _touch(entries: list[dict[str, Any]], key: str, parts: dict[str, Any]) -> list[dict[str, Any]]:
    """``entries`` with ``key`` moved to the end (most recently used)."""
    out = [e for e in entries if e["key"] != key]
    out.append({"key": key, "parts": parts, "used": time.time()})
    return out


def build_grounded_dataset(
    examples: Sequence[Any],
    kg: Any,
    linker: Any,
    graphs: str | None = "qa",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    hops: int = DEFAULT_QA_HOPS,
    max_hops: int = DEFAULT_MAX_HOPS,
    max_paths_per_pair: int | None = DEFAULT_MAX_PATHS_PER_PAIR,
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
    from safetensors.torch import load

    raw = _read_regular(path, _DATA_LIMIT)
    try:
        return load(raw)
    except Exception as exc:  # safetensors raises its own error types on bad headers
        raise IntegrityError(f"{path}: {exc}") from None
