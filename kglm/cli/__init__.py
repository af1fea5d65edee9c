"""The ``kglm`` command: a thin layer over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed namespace and returning an exit code). Modules are imported
only when the command line is parsed, never at ``import kglm`` time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Sub-command modules, in the order they appear in ``kglm --help``.
_COMMANDS: tuple[str, ...] = (
    "kg",
    "train",
    "evaluate",
    "predict",
    "bench",
    "demo",
    "download",
    "link",
    "ground",
)


def build_parser() -> argparse.ArgumentParser:
    from kglm import __version__

    parser = argparse.ArgumentParser(
        prog="kglm", description="Knowledge-graph-augmented language models."
    )
    parser.add_argument("--version", action="version", version=f"kglm {__version__}")
    subparsers = _DescribedSubparsers(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in _COMMANDS:
        importlib.import_module(f"kglm.cli.{name}").register(subparsers)
    return parser


class _DescribedSubparsers:
    """``add_subparsers()``'s object, except that a sub-command registered with a
    ``help`` line and no ``description`` gets that line as its description too (nested
    sub-commands included), so every ``kglm COMMAND --help`` opens with one sentence
    saying what it does."""

    def __init__(self, action: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        self._action = action

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        text = kwargs.get("help")
        if isinstance(text, str) and text and not kwargs.get("description"):
            kwargs["description"] = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
        parser = self._action.add_parser(name, **kwargs)  # type: ignore[arg-type]
        nested = parser.add_subparsers

        def add_subparsers(**options: object) -> _DescribedSubparsers:  # kglm kg build / info / export
            return _DescribedSubparsers(nested(**options))  # type: ignore[arg-type]

        parser.add_subparsers = add_subparsers  # type: ignore[method-assign]
        return parser

    def __getattr__(self, name: str) -> object:
        return getattr(self._action, name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except _user_errors() as exc:
        print(f"kglm: error: {error_line(exc)}", file=sys.stderr)
        return 1


def _user_errors() -> tuple[type[BaseException], ...]:
    """What the CLI reports as one line: the :class:`~kglm.errors.KGLMError` hierarchy, plus
    the operating system's own "no such file / permission denied / wrong kind of path" for a
    path the user typed, plus ``ValueError`` (library code that still raises the plain
    built-in for bad input; new code raises a ``KGLMError`` subclass, which is one)."""
    from kglm.errors import KGLMError

    return (KGLMError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, ValueError)


def error_line(exc: BaseException) -> str:
    """The one-line message of a user error (``"PATH: reason"`` for operating-system errors)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror and not _is_kglm(exc):
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split("\n")[0].split()) if "\n" in text else text


def _is_kglm(exc: BaseException) -> bool:
    from kglm.errors import KGLMError

    return isinstance(exc, KGLMError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
