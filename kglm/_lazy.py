"""Lazy re-exports (PEP 562) shared by the package ``__init__`` modules.

Every ``kglm`` package re-exports its public names without importing the
modules that define them, so ``import kglm`` (or ``kglm.models``, ...) does no
work and imports neither torch nor transformers until a name is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: the ``__name__`` of the package whose names these are.
        names: public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package. A resolved name is
        cached in the package's namespace, so each is imported once.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", names))

    return __getattr__, __dir__
