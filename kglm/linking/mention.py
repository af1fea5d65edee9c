"""The :class:`Mention` record and the entity-linker protocol.

Every linker in :mod:`kglm.linking` maps a text to a list of mentions: character
spans of the input with the knowledge-graph entity they refer to. The offsets
are always exact, ``text[m.start:m.end] == m.text``, so that downstream code can
align them to word pieces through a fast tokenizer's offset mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["EntityLinker", "Mention"]


@dataclass(frozen=True, slots=True)  # slots: a grounded data set holds millions of them
class Mention:
    """One linked span of a text.

    Args:
        start: Character offset of the first character of the span.
        end: Character offset one past the last character (Python slice end).
        text: The span itself, ``source[start:end]``.
        entity_id: Id of the linked entity in the knowledge graph (``int64``).
        entity: Name of the linked entity (``kg.entities[entity_id]``).
        score: Confidence in ``(0, 1]``. :class:`~kglm.linking.LexiconLinker`
            gives ``1 / k`` when the matched n-gram is a label of ``k`` entities.
    """

    start: int
    end: int
    text: str
    entity_id: int
    entity: str
    score: float = 1.0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict of the fields."""
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "entity_id": self.entity_id,
            "entity": self.entity,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Mention:
        """Inverse of :meth:`to_dict`."""
        return cls(
            start=int(data["start"]),  # type: ignore[call-overload]
            end=int(data["end"]),  # type: ignore[call-overload]
            text=str(data["text"]),
            entity_id=int(data["entity_id"]),  # type: ignore[call-overload]
            entity=str(data["entity"]),
            score=float(data.get("score", 1.0)),  # type: ignore[arg-type]
        )


@runtime_checkable
class EntityLinker(Protocol):
    """What every linker offers: link one text, or stream many.

    ``linker(text)`` returns the mentions of ``text`` sorted by
    ``(start, end, entity_id)``; ``linker.pipe(texts)`` yields one such list per
    text, in input order, processing the texts in batches (and, where the
    linker supports it, in ``n_process`` worker processes).
    """

    def __call__(self, text: str) -> list[Mention]:
        """Link one text."""
        ...

    def pipe(
        self, texts: Iterable[str], batch_size: int = 256, n_process: int = 1
    ) -> Iterator[list[Mention]]:
        """Link many texts lazily, in order."""
        ...
