"""The kglm error hierarchy.

Every error that kglm raises on purpose about bad input, a bad file, a bad
setting or an unsafe request derives from :class:`KGLMError`. The CLI turns
any ``KGLMError`` into one ``kglm: error: ...`` line and exit status 1, so the
catch list follows from this hierarchy, not from a list of built-in
exceptions. Each subclass also derives from the built-in exception that
callers caught before it existed (``ValueError``, ``OSError``, ...), so
existing ``except ValueError`` code keeps working.

Messages name the file (and line or field where there is one) first:
``"data/train.jsonl:12: missing field 'answerKey'"``.
"""

from __future__ import annotations

__all__ = [
    "KGLMError",
    "ConfigError",
    "DataFormatError",
    "IntegrityError",
    "UnsafeInputError",
    "ResourceLimitError",
    "KGMismatchError",
    "DownloadError",
    "MissingResourceError",
]


class KGLMError(Exception):
    """Base class of every error kglm raises about input, files or settings."""


class ConfigError(KGLMError, ValueError):
    """A configuration file, ``--set`` override or argument is invalid."""


class DataFormatError(KGLMError, ValueError):
    """A data or KG file does not follow its format (names the file and line)."""


class IntegrityError(KGLMError, ValueError):
    """A saved artefact (graph, cache, checkpoint) is inconsistent or was tampered with."""


class UnsafeInputError(KGLMError, ValueError):
    """Input asks for something kglm refuses to do (remote fetches, path escapes, code execution)."""


class ResourceLimitError(KGLMError, ValueError):
    """Input exceeds a configured bound (text length, hops, expansions, size)."""


class KGMismatchError(KGLMError, ValueError):
    """A model or embedding table was made for another knowledge graph (names both fingerprints)."""


class DownloadError(KGLMError, OSError):
    """A download failed, was refused, or its content did not match the pinned checksum."""


class MissingResourceError(KGLMError, FileNotFoundError):
    """A file, directory, dataset or model that a run needs is not there (says how to get it)."""
