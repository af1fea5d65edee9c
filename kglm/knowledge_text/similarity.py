"""Rank knowledge-text facts by their similarity to the question and choice.

:class:`TextSimilarity` embeds texts with a sentence encoder (the attention-masked
mean of an HF encoder's last hidden states, L2-normalised: what the packaged
all-MiniLM-L6-v2 was trained for) and gives the cosine similarity of a query
with candidate texts. Every text is encoded once per :class:`TextSimilarity`
(facts repeat across choices and questions).

It is the ``scorer="similarity"`` of :class:`~kglm.knowledge_text.KnowledgeTextConfig`:
a choice's candidate facts are ranked by their similarity to ``question + " " +
choice`` (most similar first; ties in the default order), and the top
``max_facts`` are kept; of all the descriptions of the choice's linked entities
the most similar one is said (so of a word's senses, the one that fits the
question), and likewise for the question concept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["TextSimilarity"]


class TextSimilarity:
    """Cosine similarity of sentence embeddings, with every text encoded once.

    Args:
        encoder: an HF encoder name or local path, or a kglm backbone alias
            (``"minilm"``, ``"minilm-<k>l"``; see
            :func:`kglm.training.resources.resolve_backbone`).
        cache_dir: where a backbone alias is materialised (``None``: the default cache).
        batch_size: texts per forward pass.
        max_length: texts are cut to this many tokens.
        device: where the encoder runs (default CPU).
    """

    def __init__(
        self,
        encoder: str = "minilm",
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 128,
        max_length: int = 64,
        device: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self._vectors: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"TextSimilarity(encoder={self.encoder!r})"

    def encode(self, texts: Sequence[str], progress: bool = False) -> None:
        """Encode the texts not seen yet (one pass over all of them, batched by length)."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if not todo:
            return
        from torch.nn import functional as F

        from kglm.kg.embeddings import encode_texts

        vectors = F.normalize(
            encode_texts(
                todo, self._model_path(), batch_size=self.batch_size, max_length=self.max_length,
                device=self.device, progress=progress,
            ),
            dim=-1,
        )  # fmt: skip
        self._vectors.update(zip(todo, vectors))

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity of ``query`` with each of ``texts`` (encoding what is new)."""
        if not texts:
            return []
        import torch

        self.encode([query, *texts])
        q = self._vectors[query]
        return torch.stack([self._vectors[t] for t in texts]).matmul(q).tolist()

    def _model_path(self) -> str:
        # a kglm alias ("minilm") is resolved by the training layer's backbone resolver,
        # imported here so that importing kglm.knowledge_text stays light
        from kglm.training.resources import resolve_backbone

        return str(resolve_backbone(self.encoder, self.cache_dir))
