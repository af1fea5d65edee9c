"""Insert ERNIE-style knowledge fusion into an existing Hugging Face text encoder.

:func:`add_knowledge_fusion` does not copy or subclass the encoder's code: it
registers forward hooks on the encoder's transformer-layer modules. After each
chosen layer the hook runs a :class:`~kglm.nn.fusion.KnowledgeFusion` on that
layer's output and the entity states of the current forward pass, which the
caller sets on the returned :class:`KnowledgeFusionAdapter` beforehand. The
encoder's parameter names are unchanged, so pretrained checkpoints still load.

Where the layer modules live is the only per-architecture knowledge, kept in
:data:`FUSION_LAYER_PATHS`. Each layer module's hook knows its layer index, so
the layers above a cached prefix may also be run one by one
(:meth:`~kglm.models.base.KGPreTrainedModel.run_text_layers`). ALBERT shares one
layer group across all its layers: its group module is called
``num_hidden_layers`` times per forward, so for it the adapter counts calls
(reset by a pre-hook on the encoder) and fuses after the chosen call indices.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from kglm.nn.fusion import KnowledgeFusion

__all__ = ["FUSION_LAYER_PATHS", "KnowledgeFusionAdapter", "add_knowledge_fusion", "align_entity_states"]

#: model_type -> dotted path (from the base model) of the module list of transformer layers.
FUSION_LAYER_PATHS: dict[str, str] = {
    "bert": "encoder.layer",
    "roberta": "encoder.layer",
    "electra": "encoder.layer",
    "albert": "encoder.albert_layer_groups",
    "distilbert": "transformer.layer",
}


def _base_model(model: nn.Module) -> nn.Module:
    """The bare encoder of a head model (``BertForMultipleChoice`` -> its ``BertModel``)."""
    base = getattr(model, "base_model", model)
    return base if isinstance(base, nn.Module) else model


def _checkpointing(module: nn.Module) -> bool:
    """Whether activation (gradient) checkpointing is on, under either transformers 5 name."""
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(type(module), name):
            return bool(getattr(module, name))
    return False


def _num_layers(config: Any) -> int:
    for name in ("num_hidden_layers", "n_layers"):
        if getattr(config, name, None) is not None:
            return int(getattr(config, name))
    raise ValueError(f"cannot tell the number of layers of {type(config).__name__}")


class KnowledgeFusionAdapter(nn.Module):
    """The fusion layers added to an encoder, and the entity states of its current forward.

    Made by :func:`add_knowledge_fusion`; not built directly. Use it as::

        with adapter.entities(entity_states, entity_mask):
            outputs = encoder(input_ids, attention_mask=attention_mask)
        fused_entities = adapter.entity_output

    Outside :meth:`entities` (or after :meth:`clear_entities`) the fusion layers
    still run, as if no token had an entity.

    Attributes:
        fusions: ``ModuleDict`` from layer index (as a string) to its :class:`KnowledgeFusion`.
        layers: the sorted layer indices fused after.
        entity_output: the entity states after the last fusion of the latest
            forward pass, ``(batch, length, entity_dim)``, or ``None``.
    """

    def __init__(self, fusions: dict[int, KnowledgeFusion], entity_dim: int) -> None:
        super().__init__()
        self.layers: tuple[int, ...] = tuple(sorted(fusions))
        self.entity_dim = entity_dim
        self.fusions = nn.ModuleDict({str(i): fusions[i] for i in self.layers})
        self._entity_states: Tensor | None = None
        self._entity_mask: Tensor | None = None
        self._current: Tensor | None = None
        self._calls = 0
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self.entity_output: Tensor | None = None
        self._encoder_ref: weakref.ref[nn.Module] | None = None

    # --------------------------------------------------------------- context
    def set_entities(self, entity_states: Tensor, entity_mask: Tensor) -> None:
        """Set the token-aligned entity states for the following forward passes.

        Args:
            entity_states: ``(batch, length, entity_dim)``, aligned to the tokens.
            entity_mask: ``(batch, length)`` bool, ``True`` where a token has an entity.
        """
        if entity_states.shape[:-1] != entity_mask.shape or entity_states.size(-1) != self.entity_dim:
            raise ValueError(
                f"entity_states {tuple(entity_states.shape)} and entity_mask {tuple(entity_mask.shape)} "
                f"must be (batch, length, {self.entity_dim}) and (batch, length)"
            )
        self._entity_states = entity_states
        self._entity_mask = entity_mask.to(torch.bool)
        # also reset here (not only in the encoder's pre-hook), for layers run one by one
        self._current = entity_states
        self.entity_output = None

    def clear_entities(self) -> None:
        """Forget the entity states; ``entity_output`` of the latest forward stays readable."""
        self._entity_states = None
        self._entity_mask = None
        self._current = None

    @contextmanager
    def entities(self, entity_states: Tensor, entity_mask: Tensor) -> Iterator[KnowledgeFusionAdapter]:
        """Context manager: :meth:`set_entities` on entry, :meth:`clear_entities` on exit."""
        self.set_entities(entity_states, entity_mask)
        try:
            yield self
        finally:
            self.clear_entities()

    # ----------------------------------------------------------------- hooks
    def _start_forward(self, module: nn.Module, args: Any, kwargs: Any = None) -> None:
        """Forward pre-hook on the encoder: reset the layer counter and the running entity states."""
        if module.training and torch.is_grad_enabled() and _checkpointing(module):
            raise RuntimeError(
                "knowledge fusion does not support gradient checkpointing (the recomputed layers would "
                "not see the entity states); call gradient_checkpointing_disable() on the encoder"
            )
        self._calls = 0
        self._current = self._entity_states
        self.entity_output = None

    def _after_shared_layer(self, module: nn.Module, args: Any, output: Any) -> Any:
        """Forward hook on a layer module called once per layer (ALBERT): the call count is the index."""
        index = self._calls
        self._calls += 1
        return self._after_layer(index, module, args, output)

    def _after_layer(self, index: int, module: nn.Module, args: Any, output: Any) -> Any:
        """Forward hook on layer ``index``: fuse when it is a chosen layer."""
        if str(index) not in self.fusions:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        if self._current is None or self._current.shape[:2] != hidden.shape[:2]:
            if self._entity_states is not None:
                raise ValueError(
                    f"entity states of shape {tuple(self._entity_states.shape)} do not match "
                    f"the hidden states {tuple(hidden.shape)}"
                )
            entities = hidden.new_zeros(*hidden.shape[:2], self.entity_dim)
            mask = torch.zeros(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
        else:
            entities = self._current
            mask = self._entity_mask
        hidden, entities = self.fusions[str(index)](hidden, entities, mask)
        if self._entity_states is not None:
            self._current = entities
            self.entity_output = entities
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    def remove(self) -> None:
        """Remove the hooks: the encoder computes exactly what it did before."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        encoder = self._encoder_ref() if self._encoder_ref is not None else None
        if encoder is not None and getattr(encoder, "_kglm_fusion_adapter", None) is self:
            object.__setattr__(encoder, "_kglm_fusion_adapter", None)

    def extra_repr(self) -> str:
        return f"layers={list(self.layers)}"


def add_knowledge_fusion(
    model: nn.Module,
    layers: Sequence[int],
    entity_dim: int,
    hidden_dim: int | None = None,
    activation: str = "gelu",
    dropout: float = 0.1,
    attach: bool = True,
) -> KnowledgeFusionAdapter:
    """Insert a :class:`~kglm.nn.fusion.KnowledgeFusion` after chosen layers of an HF encoder.

    Supported ``config.model_type``: the keys of :data:`FUSION_LAYER_PATHS` (BERT,
    RoBERTa, ELECTRA, ALBERT, DistilBERT; MiniLM checkpoints are BERT). A head
    model (``BertForMultipleChoice``, ...) is handled through its base model.
    Freshly added layers leave the encoder's outputs unchanged (the fusion's
    token update is zero-initialised).

    Args:
        model: the encoder (``AutoModel``) or a head model around one.
        layers: 0-based indices of the transformer layers to fuse after;
            negative indices count from the end.
        entity_dim: size of the entity states.
        hidden_dim: size of the fused state (default: the encoder's hidden size).
        activation: activation of the fused state.
        dropout: dropout of the fusion updates.
        attach: register the adapter as ``model.knowledge_fusion`` so its
            parameters train, move and save with the model. Pass ``False`` when
            an enclosing model owns the adapter as its own submodule.

    Returns:
        The :class:`KnowledgeFusionAdapter` holding the fusion layers; set the
        entity states on it before each forward.

    Raises:
        ValueError: for an unsupported model type (naming the supported ones),
            an out-of-range layer index, or an encoder that already has fusion.

    Limitations: the entity states live on the adapter for the duration of one
    forward, so an encoder with fusion supports neither gradient checkpointing
    (the recomputation in backward would not see them) nor
    ``torch.nn.DataParallel`` (replicas would share them); use one process per
    device (``torchrun``, DDP) as ``transformers.Trainer`` does when launched so.
    """
    base = _base_model(model)
    config = getattr(base, "config", None)
    model_type = getattr(config, "model_type", None)
    path = FUSION_LAYER_PATHS.get(model_type)  # type: ignore[arg-type]
    if path is None:
        raise ValueError(
            f"add_knowledge_fusion does not support model_type {model_type!r}; "
            f"supported: {sorted(FUSION_LAYER_PATHS)}"
        )
    if getattr(base, "_kglm_fusion_adapter", None) is not None:
        raise ValueError("this encoder already has knowledge fusion; call adapter.remove() first")
    num_layers = _num_layers(config)
    chosen = sorted({i + num_layers if i < 0 else i for i in layers})
    if not chosen or chosen[0] < 0 or chosen[-1] >= num_layers:
        raise ValueError(f"layers {list(layers)} must be non-empty indices into the encoder's {num_layers} layers")
    token_dim = int(config.hidden_size)
    fusions = {
        i: KnowledgeFusion(token_dim, entity_dim, hidden_dim, activation=activation, dropout=dropout) for i in chosen
    }
    reference = next(base.parameters())
    adapter = KnowledgeFusionAdapter(fusions, entity_dim).to(device=reference.device, dtype=reference.dtype)

    layer_modules: nn.Module = base.get_submodule(path)
    adapter._handles.append(base.register_forward_pre_hook(adapter._start_forward))
    modules = list(layer_modules)
    if len(modules) == num_layers:  # one module per layer: each hook knows its index
        for index, layer_module in enumerate(modules):
            hook = functools.partial(adapter._after_layer, index)
            adapter._handles.append(layer_module.register_forward_hook(hook))
    else:  # ALBERT: a shared layer group called num_hidden_layers times per forward
        for layer_module in modules:
            adapter._handles.append(layer_module.register_forward_hook(adapter._after_shared_layer))
    # plain attributes (object.__setattr__), not submodule registrations: the
    # adapter's parameters belong to whoever owns it (see ``attach``)
    object.__setattr__(base, "_kglm_fusion_adapter", adapter)
    object.__setattr__(adapter, "_encoder_ref", weakref.ref(base))
    if attach:
        model.add_module("knowledge_fusion", adapter)
    return adapter


def align_entity_states(node_states: Tensor, token_entity: Tensor) -> tuple[Tensor, Tensor]:
    """Gather node states onto the tokens where entity mentions start (ERNIE alignment).

    Args:
        node_states: ``(N, H)`` states of the batch's concatenated nodes (``N`` may be 0).
        token_entity: ``(..., L)`` index into the ``N`` nodes of the entity whose
            mention starts at each token, ``-1`` for none (the batch key of the same name).

    Returns:
        ``(entity_states (..., L, H), entity_mask (..., L) bool)``; rows without an
        entity are zeros.
    """
    mask = token_entity >= 0
    if node_states.size(0) == 0:
        if mask.any():
            raise ValueError("token_entity points at nodes but the batch has none")
        return node_states.new_zeros(*token_entity.shape, node_states.size(-1)), mask
    # index_select (not tensor[index]): its backward is one index_add, not an
    # accumulating index_put.
    index = token_entity.clamp(min=0)
    states = node_states.index_select(0, index.reshape(-1)).view(*index.shape, node_states.size(-1))
    return states * mask.unsqueeze(-1).to(states.dtype), mask
