"""Shared configuration and base class of every kglm multiple-choice model.

Every kglm model is a Hugging Face :class:`~transformers.PreTrainedModel` built
around one text encoder (any ``AutoModel``: BERT, ALBERT, ELECTRA, RoBERTa,
DistilBERT, MiniLM, ...) and an optional table of KG entity embeddings. The text
encoder's own configuration is stored as a plain dict inside
:class:`KGModelConfig` (``config.encoder``), so one ``config.json`` plus one
``model.safetensors`` describe the whole model and ``save_pretrained`` /
``from_pretrained`` round-trip exactly.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

from kglm.models.outputs import MultipleChoiceKGOutput

if TYPE_CHECKING:
    from kglm.kg.embeddings import EntityEmbeddings

__all__ = ["KGModelConfig", "KGPreTrainedModel", "build_text_encoder", "choice_scorer", "text_encoder_config"]

_GNN_CONVS = ("qagnn", "rgcn", "gat")
_GRAPH_KINDS = ("qa", "paths")
_KG_CONTROLS = ("none", "no_graph", "permute_edges", "permute_relations")
_TEXT_POOLINGS = ("auto", "cls", "mean")


class KGModelConfig(PretrainedConfig):
    r"""Configuration of a kglm model: a text encoder plus KG components.

    Subclasses set their own ``model_type`` (``"kglm-lm"``, ``"kglm-ernie"``,
    ``"kglm-qagnn"``, ``"kglm-kagnet"``) and may add keyword arguments. Like every
    transformers 5 configuration this is a dataclass: the arguments below are its
    fields and are all keyword-only.

    Args:
        encoder: the text encoder's configuration as a dict (``config.to_dict()``
            of any transformers configuration, including its ``"model_type"``; a
            configuration object is converted); ``AutoConfig.for_model(**encoder)``
            rebuilds it. Usually filled by :meth:`KGPreTrainedModel.from_encoder`.
        num_entities: rows of the entity-embedding table (KG entities). ``0``
            keeps a one-row placeholder table (LM baseline, tests).
        entity_dim: width of the entity-embedding table.
        freeze_entity_embeddings: keep the entity-embedding table fixed
            (``requires_grad=False``) during training.
        num_relations: number of edge types the graph encoder sees, i.e. ``2R``
            for a KG with ``R`` relations and their inverses.
        num_node_types: number of node types (question, answer, other, context).
        gnn_hidden: hidden width of the graph encoder.
        gnn_layers: number of graph-encoder layers.
        gnn_conv: graph convolution, one of ``"qagnn"``, ``"rgcn"``, ``"gat"``.
        gnn_heads: attention heads of the attention-based convolutions.
        dropout: dropout of the kglm layers (the text encoder keeps its own).
        graph_kind: which graph the model wants from the collator: ``"qa"``
            (2-hop QA subgraphs) or ``"paths"`` (KagNet schema graphs and paths).
        kg_control: the KG control experiment to run: ``"none"``, ``"no_graph"``
            (graph removed), ``"permute_edges"`` or ``"permute_relations"``
            (edges / relation types randomly permuted).
        kg_control_seed: seed of the permutation controls: each graph's
            permutation is fixed, derived from its content and this seed
            (:func:`~kglm.models.controls.apply_kg_control`).
        initializer_range: standard deviation of the normal initialisation of the
            kglm layers' linear and embedding weights.
        kg_fingerprint: fingerprint of the KG whose entity ids the model uses;
            set when :class:`~kglm.kg.embeddings.EntityEmbeddings` are loaded, so
            :meth:`KGPreTrainedModel.check_kg` can refuse another graph.
        text_pooling: how :meth:`KGPreTrainedModel.encode_text` pools a
            sequence into one vector: ``"auto"`` (the encoder's pooler when it
            has one, else the first token: ``BertForMultipleChoice``'s choice),
            ``"cls"`` (the first token's final state) or ``"mean"`` (mean of the
            final states over the attention mask: what sentence-transformers
            encoders such as the packaged all-MiniLM-L6-v2 were trained for; its
            [CLS] state and pooler barely vary between inputs).
    """

    model_type = "kglm"

    encoder: dict | None = None
    num_entities: int = 0
    entity_dim: int = 64
    freeze_entity_embeddings: bool = True
    num_relations: int = 0
    num_node_types: int = 4
    gnn_hidden: int = 64
    gnn_layers: int = 2
    gnn_conv: str = "qagnn"
    gnn_heads: int = 2
    dropout: float = 0.1
    graph_kind: str = "qa"
    kg_control: str = "none"
    kg_control_seed: int = 0
    initializer_range: float = 0.02
    kg_fingerprint: str | None = None
    text_pooling: str = "auto"

    def __post_init__(self, **kwargs: Any) -> None:
        if isinstance(self.encoder, PretrainedConfig):
            self.encoder = self.encoder.to_dict()
        for name, value, allowed in (
            ("gnn_conv", self.gnn_conv, _GNN_CONVS),
            ("graph_kind", self.graph_kind, _GRAPH_KINDS),
            ("kg_control", self.kg_control, _KG_CONTROLS),
            ("text_pooling", self.text_pooling, _TEXT_POOLINGS),
        ):
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is not one of {allowed}")
        if self.num_entities < 0 or self.num_relations < 0:
            raise ValueError("num_entities and num_relations must be >= 0")
        if self.encoder is not None and "model_type" not in self.encoder:
            raise ValueError("encoder must be a configuration dict with a 'model_type' key")
        super().__post_init__(**kwargs)


def text_encoder_config(config: KGModelConfig) -> PretrainedConfig:
    """The text encoder's transformers configuration rebuilt from ``config.encoder``."""
    if config.encoder is None:
        raise ValueError(
            "config.encoder is None: give the text encoder's configuration as a dict "
            "(e.g. BertConfig(...).to_dict()) or start from KGPreTrainedModel.from_encoder(...)"
        )
    return AutoConfig.for_model(**config.encoder)


def build_text_encoder(config: KGModelConfig) -> PreTrainedModel:
    """A freshly initialised ``AutoModel`` for the text encoder described by ``config.encoder``."""
    return AutoModel.from_config(text_encoder_config(config))


def choice_scorer(in_features: int, hidden: int, dropout: float) -> nn.Sequential:
    """The scoring MLP of the graph models: ``Linear(in, hidden)``, GELU, dropout, ``Linear(hidden, 1)``
    (parameter names ``0.*`` and ``3.*``, as saved checkpoints have them)."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


class KGPreTrainedModel(PreTrainedModel):
    """Base class of kglm models: a text encoder and an entity-embedding table.

    Subclasses build their own layers in ``__init__`` after calling
    ``super().__init__(config)`` and finish with ``self.post_init()``. The text
    encoder is a child :class:`~transformers.PreTrainedModel`, so transformers
    initialises it with its own ``_init_weights``; this class's
    :meth:`_init_weights` only touches kglm's layers, and loading a checkpoint
    never re-randomises loaded weights.

    Every model's ``forward`` takes the text batch ``input_ids``, ``attention_mask``
    and ``token_type_ids`` (each ``(B, C, L)``: ``B`` questions of ``C`` choices,
    ``L`` tokens; token types only when the tokenizer makes them) and ``labels``
    ``(B,)`` (gold choice indices; the loss is computed only when they are given),
    then its graph keys (``docs/architecture.md``, "Model batches"), and returns
    :meth:`choice_output`.

    Attributes:
        text_encoder: the ``AutoModel`` text encoder.
        entity_embeddings: ``nn.Embedding(max(num_entities, 1), entity_dim)``,
            frozen when ``config.freeze_entity_embeddings``.
    """

    config_class = KGModelConfig
    base_model_prefix = "kglm"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False

    def __init__(self, config: KGModelConfig) -> None:
        super().__init__(config)
        self.text_encoder = build_text_encoder(config)
        self.entity_embeddings = nn.Embedding(max(config.num_entities, 1), config.entity_dim)
        self.entity_embeddings.weight.requires_grad_(not config.freeze_entity_embeddings)
        # Whether the encoder's forward takes token_type_ids (DistilBERT does not).
        self._encoder_takes_token_types = "token_type_ids" in inspect.signature(self.text_encoder.forward).parameters

    @property
    def text_hidden_size(self) -> int:
        """Width of the text encoder's hidden states."""
        return int(self.text_encoder.config.hidden_size)

    # ------------------------------------------------------------------ weights
    def _init_weights(self, module: nn.Module) -> None:
        """Initialise kglm's own layers (the text encoder is initialised by its own class).

        Linear, embedding and LayerNorm weights get transformers' default scheme;
        any other module with a ``reset_parameters`` method (PyG convolutions,
        :class:`~kglm.nn.KnowledgeFusion`, LSTMs) is reset by that method after its
        children, so its own initialisation (e.g. KnowledgeFusion's zero output
        projections) is the one that holds.
        """
        if isinstance(module, (nn.Linear, nn.Embedding, nn.LayerNorm)):
            super()._init_weights(module)
        elif isinstance(module, nn.LSTM) or (
            hasattr(module, "reset_parameters") and module is not self and not isinstance(module, PreTrainedModel)
        ):
            params = list(module.parameters())
            # After from_pretrained every loaded tensor carries transformers'
            # `_is_hf_initialized` flag; PyG's initialisers write tensors directly
            # (not through the guarded torch.nn.init), so skip fully loaded modules.
            if params and all(getattr(p, "_is_hf_initialized", False) for p in params):
                return
            module.reset_parameters()

    @classmethod
    def is_custom_code(cls) -> bool:
        """kglm models initialise like library models (``False``).

        transformers treats a model defined outside its package as custom code
        and then skips initialising modules without direct parameters
        (:class:`~kglm.nn.fusion.KnowledgeFusion`, :class:`~kglm.nn.KGEncoder`),
        whose ``reset_parameters`` must run. :meth:`_init_weights` writes only
        through transformers' guarded initialisers or skips loaded modules,
        which is what the library path assumes.
        """
        return False

    def load_entity_embeddings(self, embeddings: torch.Tensor | EntityEmbeddings) -> None:
        """Copy pretrained entity embeddings into the table.

        Args:
            embeddings: a ``(num_entities, entity_dim)`` tensor or a
                :class:`~kglm.kg.embeddings.EntityEmbeddings` aligned to the KG's ids.

        Raises:
            ValueError: when the shape differs from the table's.
        """
        weight = getattr(embeddings, "weight", embeddings)
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"expected a tensor or EntityEmbeddings, got {type(embeddings).__name__}")
        table = self.entity_embeddings.weight
        if tuple(weight.shape) != tuple(table.shape):
            raise ValueError(
                f"entity embeddings of shape {tuple(weight.shape)} do not fit the model's table "
                f"{tuple(table.shape)} (config num_entities={self.config.num_entities}, "
                f"entity_dim={self.config.entity_dim})"
            )
        with torch.no_grad():
            table.copy_(weight.to(dtype=table.dtype, device=table.device))
        fingerprint = getattr(embeddings, "kg_fingerprint", None)
        if fingerprint is not None:
            self.config.kg_fingerprint = fingerprint

    def check_kg(self, kg: Any) -> None:
        """Raise :class:`~kglm.errors.KGMismatchError` (a ``ValueError``) when the model's
        entity ids come from another KG than ``kg``, naming both fingerprints.

        Passes when the model records no KG (``config.kg_fingerprint is None``).
        """
        from kglm.kg.embeddings import check_kg_fingerprint

        check_kg_fingerprint(self.config.kg_fingerprint, kg, "this model's entity ids")

    @classmethod
    def from_encoder(
        cls,
        name_or_path: str,
        entity_embeddings: torch.Tensor | EntityEmbeddings | None = None,
        **config_kwargs: Any,
    ) -> KGPreTrainedModel:
        """Build a model around a pretrained text encoder.

        The text encoder's weights come from ``AutoModel.from_pretrained(name_or_path)``
        (a hub name or a local directory such as the packaged MiniLM's); every other
        layer is freshly initialised.

        Args:
            name_or_path: anything ``AutoModel.from_pretrained`` accepts.
            entity_embeddings: optional pretrained entity table; when given,
                ``num_entities`` and ``entity_dim`` default to its shape.
            **config_kwargs: other :class:`KGModelConfig` (or subclass) arguments.

        Returns:
            The model, in training mode like a fresh ``from_config`` model.
        """
        encoder = AutoModel.from_pretrained(name_or_path, trust_remote_code=False)
        if entity_embeddings is not None:
            weight = getattr(entity_embeddings, "weight", entity_embeddings)
            config_kwargs.setdefault("num_entities", int(weight.shape[0]))
            config_kwargs.setdefault("entity_dim", int(weight.shape[1]))
        config = cls.config_class(encoder=encoder.config.to_dict(), **config_kwargs)
        model = cls(config)
        # load_state_dict (not module replacement) keeps any hooks the subclass
        # registered on its text encoder, e.g. the knowledge-fusion hooks.
        model.text_encoder.load_state_dict(encoder.state_dict())
        if entity_embeddings is not None:
            model.load_entity_embeddings(entity_embeddings)
        model.train()
        return model

    # ------------------------------------------------------------------ text layers
    #: Answers :meth:`encode_text`'s encoder call instead of the encoder when set:
    #: ``provider(model, input_ids=..., attention_mask=..., token_type_ids=...)`` returns an
    #: output with ``last_hidden_state`` and ``pooler_output``. Set by
    #: :func:`kglm.training.encoder_cache.install_encoder_cache`; ``None`` runs the encoder.
    text_encoder_cache: Any = None

    def text_layers(self) -> nn.ModuleList:
        """The transformer layers of a BERT-style text encoder (``text_encoder.encoder.layer``).

        Raises:
            ValueError: for an encoder without ``embeddings`` and ``encoder.layer``
                (DistilBERT, ALBERT).
        """
        encoder = self.text_encoder
        layers = getattr(getattr(encoder, "encoder", None), "layer", None)
        if not hasattr(encoder, "embeddings") or not isinstance(layers, nn.ModuleList):
            raise ValueError(
                f"{type(encoder).__name__} is not a BERT-style encoder (embeddings, encoder.layer): "
                "it cannot be run layer by layer"
            )
        return layers

    def embed_text(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, L, H)`` output of the text encoder's embedding layer (BERT-style encoders)."""
        self.text_layers()
        return self.text_encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)

    def run_text_layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int = 0, stop: int | None = None
    ) -> torch.Tensor:
        """Run the text encoder's layers ``start..stop`` (exclusive) on hidden states.

        An explicit loop over the encoder's public layer modules with the mask
        transformers' own BERT forward builds (``create_bidirectional_mask``), so
        forward hooks on the layers (knowledge fusion) run as in a full forward.
        Used to run the layers above a cached frozen prefix.

        Args:
            hidden: ``(N, L, H)`` hidden states entering layer ``start``.
            attention_mask: ``(N, L)`` 1 for real tokens.
        """
        from transformers.masking_utils import create_bidirectional_mask

        layers = self.text_layers()
        mask = create_bidirectional_mask(
            config=self.text_encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in layers[start:stop]:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    # ------------------------------------------------------------------ helpers
    def encode_text(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the text encoder over every (question, choice) pair.

        The pooled vector follows ``config.text_pooling``: with ``"auto"`` the
        encoder's pooler output when it has a pooler (BERT, ALBERT, RoBERTa:
        like ``BertForMultipleChoice``), else the first token's final state
        (ELECTRA, DistilBERT, MiniLM without pooler); ``"cls"`` the first
        token's final state; ``"mean"`` the mean final state over the
        attention mask.

        Args:
            input_ids: ``(B, C, L)`` or ``(B*C, L)`` token ids.
            attention_mask: same shape as ``input_ids``.
            token_type_ids: same shape, only for encoders that use them;
                ignored by encoders without token types (DistilBERT).

        Returns:
            ``(sequence_output (B*C, L, H), pooled (B*C, H))``.
        """
        length = input_ids.size(-1)
        kwargs: dict[str, torch.Tensor] = {"input_ids": input_ids.reshape(-1, length)}
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask.reshape(-1, length)
        if token_type_ids is not None and self._encoder_takes_token_types:
            kwargs["token_type_ids"] = token_type_ids.reshape(-1, length)
        provider = self.text_encoder_cache
        if provider is not None:  # e.g. kglm.training.encoder_cache: outputs of a frozen encoder, cached
            outputs = provider(self, **kwargs)
        else:
            outputs = self.text_encoder(**kwargs, return_dict=True)
        sequence_output = outputs.last_hidden_state
        mode = getattr(self.config, "text_pooling", "auto")
        if mode == "mean":
            mask = kwargs.get("attention_mask")
            if mask is None:
                return sequence_output, sequence_output.mean(1)
            weights = mask.unsqueeze(-1).to(sequence_output.dtype)
            return sequence_output, (sequence_output * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        pooled = getattr(outputs, "pooler_output", None) if mode == "auto" else None
        if pooled is None:
            pooled = sequence_output[:, 0]
        return sequence_output, pooled

    def choice_output(
        self, scores: torch.Tensor, num_choices: int, labels: torch.Tensor | None, **outputs: Any
    ) -> MultipleChoiceKGOutput:
        """The model output for ``(B*C, 1)`` choice scores: ``(B, C)`` logits, the
        cross-entropy loss when ``labels`` are given, and any other ``outputs``
        (``node_attention=...``)."""
        logits = scores.view(-1, num_choices)
        return MultipleChoiceKGOutput(loss=self._multiple_choice_loss(logits, labels), logits=logits, **outputs)

    @staticmethod
    def _multiple_choice_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Cross-entropy over choices; ``None`` when ``labels`` is ``None``.

        Args:
            logits: ``(B, C)`` choice scores.
            labels: ``(B,)`` gold choice indices, or ``None``.
        """
        if labels is None:
            return None
        return nn.functional.cross_entropy(logits, labels.to(logits.device).long())
