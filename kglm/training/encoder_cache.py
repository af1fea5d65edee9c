"""Reuse a frozen text encoder's outputs across batches, epochs and runs.

When the text encoder is frozen for a whole run (a linear probe, or a KG model
trained on top of fixed text features), its output for a given token sequence
never changes. :class:`FrozenEncoderCache` remembers the output of every
distinct (unpadded) sequence; :func:`install_encoder_cache` makes a model's
``text_encoder`` answer from it. One cache can serve several models built from
the same pretrained weights (a benchmark's jobs over models and seeds): the
cache is keyed by a fingerprint of the encoder's weights, so a different or
fine-tuned encoder never reads another's entries.

The cached forward returns ``last_hidden_state`` (zeros at padded positions)
and ``pooler_output``; models that need other outputs (hidden states of every
layer, attentions) or fuse inside the encoder (ERNIE-style) must not use it.
"""

from __future__ import annotations

import hashlib
import types
from typing import Any

import torch
from torch import nn

__all__ = ["FrozenEncoderCache", "install_encoder_cache", "remove_encoder_cache", "weights_fingerprint"]


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
        keys: list[tuple[str, bytes]] = []
        spans: list[torch.Tensor] = []
        for i in range(n):
            real = attention_mask[i].nonzero().flatten()
            spans.append(real)
            parts = [input_ids[i, real].cpu().numpy().tobytes(), real.cpu().numpy().tobytes()]
            if token_type_ids is not None:
                parts.append(token_type_ids[i, real].cpu().numpy().tobytes())
            keys.append((owner, b"|".join(parts)))
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
                    out = encoder._kglm_uncached_forward(**call, return_dict=True)
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


def install_encoder_cache(
    model: nn.Module, cache: FrozenEncoderCache, attribute: str = "text_encoder"
) -> str:
    """Freeze ``model.<attribute>`` and make it answer from ``cache``.

    The encoder's parameters get ``requires_grad=False``; its state dict is
    unchanged, so saving and loading the model are unaffected.

    Returns:
        the weights fingerprint under which the encoder's outputs are cached.
    """
    encoder = getattr(model, attribute)
    if hasattr(encoder, "_kglm_uncached_forward"):
        return encoder._kglm_cache_owner
    for param in encoder.parameters():
        param.requires_grad_(False)
    owner = weights_fingerprint(encoder)
    encoder._kglm_uncached_forward = encoder.forward
    encoder._kglm_cache_owner = owner

    def cached_forward(self: nn.Module, input_ids: torch.Tensor, attention_mask=None, token_type_ids=None, **kwargs: Any):
        return cache.forward(self, owner, input_ids, attention_mask, token_type_ids, **kwargs)

    encoder.forward = types.MethodType(cached_forward, encoder)
    return owner


def remove_encoder_cache(model: nn.Module, attribute: str = "text_encoder") -> None:
    """Undo :func:`install_encoder_cache` (the parameters stay frozen)."""
    encoder = getattr(model, attribute)
    if hasattr(encoder, "_kglm_uncached_forward"):
        encoder.forward = encoder._kglm_uncached_forward
        del encoder._kglm_uncached_forward
        del encoder._kglm_cache_owner
