"""Reuse a frozen text encoder's outputs across batches, epochs and runs.

When the text encoder is frozen for a whole run (a linear probe, or a KG model
trained on top of fixed text features), its output for a given token sequence
never changes. :class:`FrozenEncoderCache` remembers the output of every
distinct (unpadded) sequence; :func:`install_encoder_cache` makes a model's
``text_encoder`` answer from it. One cache can serve several models built from
the same pretrained weights (a benchmark's jobs over models and seeds): the
cache is keyed by a fingerprint of the encoder's weights, so a different or
fine-tuned encoder never reads another's entries.

Nothing of the encoder is patched: the cache is the model's
``text_encoder_cache`` (see :class:`~kglm.models.base.KGPreTrainedModel`),
which :meth:`~kglm.models.base.KGPreTrainedModel.encode_text` asks instead of
calling the encoder; misses are computed through the encoder's public forward.
It returns ``last_hidden_state`` (zeros at padded positions) and
``pooler_output``; models that need other outputs (hidden states of every
layer, attentions) must not use it.

Models that change the encoder's computation after some layer (ERNIE-style
fusion after layer ``k``) cache only the frozen *prefix*: the hidden states
entering layer ``k`` (``install_encoder_cache(..., prefix_layers=k)``); layers
``k`` and above then run live on every call through the model's own
:meth:`~kglm.models.base.KGPreTrainedModel.run_text_layers` (an explicit loop
over the public layer modules), so fusion hooks on them work and gradients
reach the fusion layers. This needs a BERT-style encoder (``embeddings``,
``encoder.layer``, optional ``pooler``: BERT, RoBERTa, ELECTRA, MiniLM).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from torch import nn

__all__ = [
    "FrozenEncoderCache",
    "install_encoder_cache",
    "remove_encoder_cache",
    "weights_fingerprint",
    "first_fusion_layer",
]


def weights_fingerprint(module: nn.Module) -> str:
    """A sha256 over a module's parameter names, shapes and a sample of their values."""
    digest = hashlib.sha256()
    for name, param in module.state_dict().items():
        flat = param.detach().reshape(-1)
        digest.update(name.encode())
        digest.update(str(tuple(param.shape)).encode())
        sample = flat[:: max(1, flat.numel() // 64)][:64].to(torch.float64).cpu().numpy().tobytes()
        digest.update(sample)
        digest.update(repr(float(flat.to(torch.float64).sum())).encode() if flat.numel() else b"")
    return digest.hexdigest()


class FrozenEncoderCache:
    """Encoder outputs of distinct token sequences, stored unpadded in float16 or float32.

    Args:
        dtype: storage dtype of the hidden states (``torch.float16`` halves the memory).

    Attributes:
        hits / misses: sequences answered from the cache / computed.
    """

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        self.dtype = dtype
        self._store: dict[tuple[str, bytes], tuple[torch.Tensor, torch.Tensor | None]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        """Forget every entry."""
        self._store.clear()

    def _keys(
        self, owner: str, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None
    ) -> tuple[list[tuple[str, bytes]], list[torch.Tensor]]:
        keys: list[tuple[str, bytes]] = []
        spans: list[torch.Tensor] = []
        for i in range(input_ids.shape[0]):
            real = attention_mask[i].nonzero().flatten()
            spans.append(real)
            parts = [input_ids[i, real].cpu().numpy().tobytes(), real.cpu().numpy().tobytes()]
            if token_type_ids is not None:
                parts.append(token_type_ids[i, real].cpu().numpy().tobytes())
            keys.append((owner, b"|".join(parts)))
        return keys, spans

    def prefix(
        self,
        model: nn.Module,
        owner: str,
        layers: int,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(N, L, H)`` hidden states entering layer ``layers`` (zeros at padding), computing only unseen rows.

        Args:
            model: a :class:`~kglm.models.base.KGPreTrainedModel` (its
                :meth:`~kglm.models.base.KGPreTrainedModel.embed_text` and
                :meth:`~kglm.models.base.KGPreTrainedModel.run_text_layers` compute misses).
        """
        encoder = model.text_encoder
        keys, spans = self._keys(f"{owner}|prefix{layers}", input_ids, attention_mask, token_type_ids)
        missing = [i for i, k in enumerate(keys) if k not in self._store]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            idx = torch.tensor(missing, device=input_ids.device)
            was_training = encoder.training
            encoder.eval()
            try:
                with torch.no_grad():
                    hidden = model.embed_text(input_ids[idx], token_type_ids[idx] if token_type_ids is not None else None)
                    hidden = model.run_text_layers(hidden, attention_mask[idx], 0, layers)
            finally:
                encoder.train(was_training)
            for j, i in enumerate(missing):
                self._store[keys[i]] = (hidden[j, spans[i]].detach().to(self.dtype).cpu(), None)
        n, length = input_ids.shape
        first = self._store[keys[0]][0]
        dtype = next(encoder.parameters()).dtype
        out = torch.zeros(n, length, first.shape[-1], dtype=dtype, device=input_ids.device)
        for i, key in enumerate(keys):
            out[i, spans[i]] = self._store[key][0].to(device=input_ids.device, dtype=dtype)
        return out

    def forward(
        self,
        encoder: nn.Module,
        owner: str,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        """The encoder's output for ``(N, L)`` inputs, computing only unseen sequences."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        n, length = input_ids.shape
        keys, spans = self._keys(owner, input_ids, attention_mask, token_type_ids)
        missing = [i for i, k in enumerate(keys) if k not in self._store]
        self.hits += n - len(missing)
        self.misses += len(missing)
        if missing:
            idx = torch.tensor(missing, device=input_ids.device)
            call: dict[str, Any] = {"input_ids": input_ids[idx], "attention_mask": attention_mask[idx]}
            if token_type_ids is not None:
                call["token_type_ids"] = token_type_ids[idx]
            was_training = encoder.training
            encoder.eval()  # cached features are the deterministic (no-dropout) outputs
            try:
                with torch.no_grad():
                    out = encoder(**call, return_dict=True)
            finally:
                encoder.train(was_training)
            pooled = getattr(out, "pooler_output", None)
            for j, i in enumerate(missing):
                hidden = out.last_hidden_state[j, spans[i]].detach().to(self.dtype).cpu()
                pool = pooled[j].detach().to(self.dtype).cpu() if pooled is not None else None
                self._store[keys[i]] = (hidden, pool)
        first = self._store[keys[0]]
        hidden_size = first[0].shape[-1]
        dtype = next(encoder.parameters()).dtype
        device = input_ids.device
        last = torch.zeros(n, length, hidden_size, dtype=dtype, device=device)
        pooled_out = torch.zeros(n, hidden_size, dtype=dtype, device=device) if first[1] is not None else None
        for i, key in enumerate(keys):
            hidden, pool = self._store[key]
            last[i, spans[i]] = hidden.to(device=device, dtype=dtype)
            if pooled_out is not None and pool is not None:
                pooled_out[i] = pool.to(device=device, dtype=dtype)
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled_out)


def first_fusion_layer(model: nn.Module, attribute: str = "text_encoder") -> int | None:
    """Index of the first encoder layer whose output a fusion hook changes (``None``: no fusion)."""
    from kglm.models.knowledge_fusion import KnowledgeFusionAdapter

    layers = [i for m in model.modules() if isinstance(m, KnowledgeFusionAdapter) for i in m.layers]
    return int(min(layers)) if layers else None


class _CachedTextEncoder:
    """A model's ``text_encoder_cache``: encoder outputs from a :class:`FrozenEncoderCache`."""

    def __init__(self, cache: FrozenEncoderCache, owner: str, attribute: str, prefix_layers: int | None) -> None:
        self.cache = cache
        self.owner = owner
        self.attribute = attribute
        self.prefix_layers = prefix_layers

    def __call__(
        self,
        model: nn.Module,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        encoder = getattr(model, self.attribute)
        if self.prefix_layers is None:
            return self.cache.forward(encoder, self.owner, input_ids, attention_mask, token_type_ids, **kwargs)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.cache.prefix(model, self.owner, self.prefix_layers, input_ids, attention_mask, token_type_ids)
        hidden = model.run_text_layers(hidden, attention_mask, self.prefix_layers)
        pooler = getattr(encoder, "pooler", None)
        pooled = pooler(hidden) if pooler is not None else None
        return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled)


def install_encoder_cache(
    model: nn.Module,
    cache: FrozenEncoderCache,
    attribute: str = "text_encoder",
    prefix_layers: int | None = None,
) -> str:
    """Freeze ``model.<attribute>`` and make the model read its outputs from ``cache``.

    Args:
        model: a :class:`~kglm.models.base.KGPreTrainedModel` (it asks its
            ``text_encoder_cache`` before running the encoder).
        cache: the cache (shareable between models with the same encoder weights).
        attribute: where the encoder is.
        prefix_layers: ``None`` caches the encoder's whole output; ``k`` caches
            the hidden states entering layer ``k`` and runs layers ``k..`` (and
            the pooler) live on every call, with their hooks (ERNIE-style fusion).

    The encoder's parameters get ``requires_grad=False``; the encoder itself
    is not modified, so saving and loading the model are unaffected.

    Returns:
        the weights fingerprint under which the encoder's outputs are cached.
    """
    if not hasattr(model, "text_encoder_cache"):
        raise TypeError(f"{type(model).__name__} does not read a text_encoder_cache (not a kglm model)")
    installed = model.text_encoder_cache
    if isinstance(installed, _CachedTextEncoder):
        return installed.owner
    encoder = getattr(model, attribute)
    if prefix_layers is not None:
        model.text_layers()  # ValueError unless BERT-style
    for param in encoder.parameters():
        param.requires_grad_(False)
    owner = weights_fingerprint(encoder)
    model.text_encoder_cache = _CachedTextEncoder(cache, owner, attribute, prefix_layers)
    return owner


def remove_encoder_cache(model: nn.Module, attribute: str = "text_encoder") -> None:
    """Undo :func:`install_encoder_cache` (the parameters stay frozen)."""
    if isinstance(getattr(model, "text_encoder_cache", None), _CachedTextEncoder):
        model.text_encoder_cache = None
