"""Where kglm keeps its caches: one function, used everywhere."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "DEFAULT_CACHE_DIR", "cache_dir"]

#: environment variable that overrides the cache directory
CACHE_ENV = "KGLM_CACHE"
#: the default: a project-local folder in the current working directory
DEFAULT_CACHE_DIR = ".kglm_cache"


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``override`` if given, else ``$KGLM_CACHE``, else ``./.kglm_cache``.

    Every cache (grounding, linker index, converted KGs, entity embeddings,
    encoder outputs, tiny backbones) lives under this one root.
    """
    if override is not None and os.fspath(override) != "":
        return Path(override)
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)
