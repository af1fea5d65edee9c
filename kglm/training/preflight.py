"""Fail fast, before any long work: data and KG files, and a backbone that can be loaded.

A run that needs a file that is not there, or a Hugging Face model that is
neither cached nor downloadable, should stop in a second with one line naming
what is missing, not after minutes of preparation or of retrying an
unreachable hub. :func:`check_config` checks a
:class:`~kglm.training.TrainingConfig`; :func:`check_backbone` one backbone
name; :func:`hub_reachable` opens one TCP connection to the hub with a short
timeout.

Example::

    from kglm.training.preflight import check_config
    check_config(config)   # raises MissingResourceError naming the field and path
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kglm.errors import MissingResourceError

if TYPE_CHECKING:  # pragma: no cover
    from kglm.training.config import TrainingConfig

__all__ = [
    "check_config",
    "check_suite",
    "check_backbone",
    "check_paths",
    "hub_reachable",
    "hub_offline",
    "cached_hub_model",
]

_REACHABLE: dict[tuple[str, int], str | None] = {}


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no hub access."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _endpoint() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def hub_reachable(timeout: float = 3.0) -> str | None:
    """``None`` when the Hugging Face hub accepts a TCP connection within ``timeout``
    seconds, else the reason it does not (checked once per process)."""
    key = _endpoint()
    if key not in _REACHABLE:
        try:
            with socket.create_connection(key, timeout=timeout):
                _REACHABLE[key] = None
        except OSError as exc:
            _REACHABLE[key] = f"{type(exc).__name__}: {exc}"
    return _REACHABLE[key]


def cached_hub_model(name: str) -> Path | None:
    """The snapshot directory of hub model ``name`` in the local Hugging Face cache, if any."""
    if "/" not in name and not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return None
    root = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not root:
        home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
        root = os.path.join(home, "hub")
    snapshots = Path(root) / ("models--" + name.replace("/", "--")) / "snapshots"
    if snapshots.is_dir():
        for snap in sorted(snapshots.iterdir()):
            if (snap / "config.json").is_file():
                return snap
    return None


def check_backbone(name: str, *, field: str = "backbone", timeout: float = 3.0) -> None:
    """Raise :class:`~kglm.errors.MissingResourceError` when ``name`` cannot be loaded now.

    Packaged names (``minilm``, ``minilm-<k>l``, ``tiny-bert``) and existing
    local directories pass. A hub name passes when it is in the local cache
    (and then, with the hub unreachable, ``HF_HUB_OFFLINE=1`` is set for this
    process when the hub client is not yet imported, so nothing retries) or
    when the hub answers within ``timeout`` seconds.
    """
    from kglm.training.resources import is_packaged_backbone

    if is_packaged_backbone(name):
        return
    path = Path(name).expanduser()
    if path.exists():
        if path.is_dir() and not (path / "config.json").is_file():
            raise MissingResourceError(f"{field}={name!r}: the directory has no config.json (not a model directory)")
        return
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep in name.replace("/", "", 1):
        raise MissingResourceError(f"{field}={name!r}: no such directory")
    if cached_hub_model(name) is not None:
        if not hub_offline() and hub_reachable(timeout) is not None and "huggingface_hub" not in sys.modules:
            os.environ["HF_HUB_OFFLINE"] = "1"  # use the cache without retrying the hub
        return
    hint = ("use a local model directory, one already in the Hugging Face cache, or the packaged "
            "'minilm' / 'minilm-2l' / 'tiny-bert'")
    if hub_offline():
        raise MissingResourceError(
            f"{field}={name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set: {hint}"
        )
    reason = hub_reachable(timeout)
    if reason is not None:
        host, port = _endpoint()
        raise MissingResourceError(
            f"{field}={name!r} must be downloaded from {host}:{port}, which cannot be reached ({reason}); {hint}"
        )


def check_paths(items: dict[str, str | None], *, special: tuple[str, ...] = ("demo",)) -> None:
    """Raise :class:`~kglm.errors.MissingResourceError` for the first ``field -> path`` that does not exist.

    ``None``/empty values and the names in ``special`` pass; a value with
    ``" + "`` (a merged KG) is checked part by part.
    """
    for field, value in items.items():
        if not value:
            continue
        for part in str(value).split(" + "):
            part = part.strip()
            if part in special or Path(part).expanduser().exists():
                continue
            hint = ""
            if "shared" in part or "csqa" in part or "conceptnet" in part or "obqa" in part:
                hint = " (benchmark data: 'kglm download', then point KGLM_DATA_DIR at it, or set the path)"
            raise MissingResourceError(f"{field}={part!r}: no such file or directory{hint}")


def check_config(config: TrainingConfig, *, timeout: float = 3.0) -> None:
    """Check a :class:`~kglm.training.TrainingConfig` before training: data files, the KG
    (when the model or its knowledge text needs one), then the backbone.

    Raises:
        MissingResourceError: naming the config field and the missing file or model.
    """
    items: dict[str, str | None] = {
        "train_file": config.train_file,
        "dev_file": config.dev_file,
        "train_labels_file": config.train_labels_file,
        "dev_labels_file": config.dev_labels_file,
    }
    if config.uses_kg:
        items["kg"] = config.kg
    if config.entity_embeddings and config.entity_embeddings not in ("text", "random", "none"):
        items["entity_embeddings"] = config.entity_embeddings
    check_paths(items)
    check_backbone(config.backbone, timeout=timeout)


def check_suite(suite: Any, *, backbone: str | None = None, timeout: float = 3.0) -> None:
    """Check a benchmark suite (a :class:`~kglm.bench.suites.Suite` or its name) before running it:
    the shared data folder, every dataset's files and KG, then the backbone.

    Raises:
        MissingResourceError: naming the dataset, the field and the missing path,
            or a ``KGLM_DATA_DIR`` that holds no benchmark data.
    """
    from kglm.bench.suites import get_suite, shared_data_dir

    if isinstance(suite, str):
        suite = get_suite(suite)
    env = os.environ.get("KGLM_DATA_DIR")
    for spec in suite.datasets:
        if spec.needs_shared_data:
            root = shared_data_dir()
            if env and (root is None or Path(env).resolve() != root.resolve()):
                raise MissingResourceError(
                    f"KGLM_DATA_DIR={env!r} holds no benchmark data (no csqa/ or conceptnet/ folder): "
                    "fetch it with 'kglm download' (see README, Data)"
                )
            if root is None:
                raise MissingResourceError(
                    f"suite {suite.name!r} (dataset {spec.name!r}) needs the benchmark data: fetch it with "
                    "'kglm download' and set KGLM_DATA_DIR to the folder holding csqa/, obqa/ and conceptnet/"
                )
            spec = spec.resolve(root)
        check_paths({f"{spec.name}.train_file": spec.train_file, f"{spec.name}.dev_file": spec.dev_file,
                     f"{spec.name}.kg": spec.kg})
    check_backbone(backbone or suite.backbone, timeout=timeout)
