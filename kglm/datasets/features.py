"""Model features for multiple-choice examples: tokens, ERNIE alignment, graphs.

The heavy work (entity linking, subgraph extraction, path finding, tokenization)
is done once by :func:`build_dataset`; batching is done by
:class:`MultipleChoiceCollator`, which pads the tokens and concatenates the
choice graphs into one flat dict of tensors exactly as described in
``docs/architecture.md`` ("Model batches").

Example::

    tokenizer = AutoTokenizer.from_pretrained(path)
    dataset = build_dataset(examples, kg, linker, tokenizer, FeatureConfig(max_seq_length=64))
    collator = MultipleChoiceCollator(tokenizer, graph_kind="qa")
    batch = collator([dataset[0], dataset[1]])   # input_ids (2, C, L), node_ids (N,), ...
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_NODES, DEFAULT_MAX_PATHS_PER_PAIR, DEFAULT_QA_HOPS

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerBase

    from kglm.datasets.readers import MultipleChoiceExample
    from kglm.kg.graph import KnowledgeGraph

logger = logging.getLogger(__name__)

GraphKind = Literal["qa", "paths"]

__all__ = [
    "FeatureConfig",
    "ChoiceFeatures",
    "ExampleFeatures",
    "MultipleChoiceDataset",
    "MultipleChoiceCollator",
    "tokenize_choices",
    "align_mentions",
    "build_dataset",
]


@dataclass
class FeatureConfig:
    """How examples become model features.

    Args:
        max_seq_length: maximum tokens of one (question, choice) pair.
        truncation: ``"only_first"`` cuts the question (the usual choice for
            multiple choice, since choices are short), ``"longest_first"`` cuts
            whichever is longer. ``"only_first"`` falls back to
            ``"longest_first"`` for a pair whose choice alone is too long.
        graph_kinds: which graphs to build: ``"qa"`` (2-hop QA graphs),
            ``"paths"`` (KagNet paths and their schema graphs). Empty for the
            LM baseline.
        max_nodes: node cap of a 2-hop QA graph.
        hops: hops of a QA graph.
        max_path_hops: longest KagNet path.
        max_paths_per_pair: paths kept per (question entity, answer entity) pair.
        show_progress: show tqdm progress bars.
    """

    max_seq_length: int = 128
    truncation: Literal["only_first", "longest_first"] = "only_first"
    graph_kinds: tuple[str, ...] = ("qa", "paths")
    max_nodes: int = DEFAULT_MAX_NODES
    hops: int = DEFAULT_QA_HOPS
    max_path_hops: int = DEFAULT_MAX_HOPS
    max_paths_per_pair: int = DEFAULT_MAX_PATHS_PER_PAIR
    show_progress: bool = True


@dataclass
class ChoiceFeatures:
    """Features of one (question, choice) pair.

    ``entity_tokens`` holds ``(token position, KG entity id)`` for every
    mention aligned to its first word piece; the collator turns the entity id
    into the index of that entity's node in the batch (``token_entity``).
    """

    input_ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int] | None
    entity_tokens: list[tuple[int, int]]
    qa_graph: Any = None  # kglm.grounding.ChoiceGraph
    paths: Any = None  # kglm.grounding.ChoicePaths
    knowledge: Any = None  # kglm.knowledge_text.KnowledgeText fed as the second segment


@dataclass
class ExampleFeatures:
    """Features of one multiple-choice example: one :class:`ChoiceFeatures` per choice."""

    id: str
    choices: list[ChoiceFeatures]
    label: int | None
    grounding: list[Any] | None = None  # list[kglm.grounding.GroundedChoice]


class MultipleChoiceDataset(torch.utils.data.Dataset):
    """A list of :class:`ExampleFeatures` with the examples they came from.

    ``dataset[i]`` is an :class:`ExampleFeatures`; pass the dataset to a
    ``DataLoader`` or ``transformers.Trainer`` with a :class:`MultipleChoiceCollator`.
    """

    def __init__(
        self,
        features: Sequence[ExampleFeatures],
        examples: Sequence[MultipleChoiceExample] | None = None,
    ) -> None:
        self.features = list(features)
        self.examples = list(examples) if examples is not None else None

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> ExampleFeatures:
        return self.features[index]

    def subset(self, indices: Sequence[int]) -> MultipleChoiceDataset:
        """The dataset restricted to ``indices`` (in that order)."""
        examples = [self.examples[i] for i in indices] if self.examples is not None else None
        return MultipleChoiceDataset([self.features[i] for i in indices], examples)

    @property
    def lengths(self) -> list[int]:
        """Each example's length: the tokens of its longest (question, choice) sequence.

        Length-grouped sampling (:class:`~kglm.training.trainer.SeededLengthGroupedSampler`)
        batches examples of similar length, so dynamic padding pads little.
        """
        return [max((len(ch.input_ids) for ch in f.choices), default=0) for f in self.features]

    @property
    def labels(self) -> list[int | None]:
        """Gold labels, in order."""
        return [f.label for f in self.features]


# ----------------------------------------------------------------------------- tokens


def tokenize_choices(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    choices: Sequence[str],
    max_seq_length: int = FeatureConfig.max_seq_length,
    truncation: str = FeatureConfig.truncation,
    knowledge: Sequence[str] | None = None,
) -> Any:
    """Tokenize the (question, choice) pairs of one example, without padding.

    Returns the fast tokenizer's ``BatchEncoding`` with ``offset_mapping``, so
    ``encoding.sequence_ids(i)`` tells question (0) from choice (1) tokens.

    With ``knowledge`` (one text per choice, see :mod:`kglm.knowledge_text`)
    each pair is instead ``[question + " " + choice] [SEP] [knowledge]``: the
    question and choice form sequence 0 (the choice starts at character
    ``len(question) + 1``) and the knowledge sequence 1, which truncation cuts
    first (``"only_second"``; ``"longest_first"`` when the first sequence alone
    is too long).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"{type(tokenizer).__name__} is not a fast tokenizer; entity alignment needs "
            "offsets (load it with AutoTokenizer.from_pretrained(..., use_fast=True))"
        )
    questions = [question] * len(choices)
    kwargs = dict(
        max_length=max_seq_length,
        padding=False,
        return_offsets_mapping=True,
    )
    if knowledge is not None:
        if len(knowledge) != len(choices):
            raise ValueError(f"{len(knowledge)} knowledge texts for {len(choices)} choices")
        firsts = [f"{question} {c}" for c in choices]
        try:
            return tokenizer(firsts, list(knowledge), truncation="only_second", **kwargs)
        except Exception:  # the question and choice alone are longer than max_length
            return tokenizer(firsts, list(knowledge), truncation="longest_first", **kwargs)
    try:
        return tokenizer(questions, list(choices), truncation=truncation, **kwargs)
    except Exception:  # a choice alone longer than max_length cannot be cut "only_first"
        if truncation == "longest_first":
            raise
        return tokenizer(questions, list(choices), truncation="longest_first", **kwargs)


def align_mentions(
    offsets: Sequence[tuple[int, int]],
    sequence_ids: Sequence[int | None],
    mentions: Sequence[tuple[int, int, int, int]],
) -> list[tuple[int, int]]:
    """Align character mentions to their first word piece.

    Args:
        offsets: ``(start, end)`` character offsets of each token in its own sequence.
        sequence_ids: which sequence each token belongs to (``None`` for special tokens).
        mentions: ``(sequence, start, end, entity_id)``: sequence 0 is the question,
            1 the choice; ``start``/``end`` are character offsets in that sequence.

    Returns:
        ``(token position, entity id)`` pairs, sorted by position. The first word
        piece of a mention is the first token of its sequence whose character span
        overlaps the mention. A token that starts several mentions keeps the
        longest one (the most specific concept; the first on ties). Mentions cut
        off by truncation are dropped.
    """
    chosen: dict[int, tuple[int, int]] = {}  # token -> (length, entity)
    for seq, start, end, entity in mentions:
        for t, (sid, (ts, te)) in enumerate(zip(sequence_ids, offsets)):
            if sid != seq or te <= ts:
                continue
            if ts < end and te > start:
                length = end - start
                if t not in chosen or length > chosen[t][0]:
                    chosen[t] = (length, int(entity))
                break
    return sorted((t, e) for t, (_, e) in chosen.items())


# ----------------------------------------------------------------------------- building


def _ground(
    examples: Sequence[MultipleChoiceExample],
    kg: KnowledgeGraph,
    linker: Any,
    config: FeatureConfig,
    cache_dir: str | None,
    data_file: str | None,
) -> tuple[list[list[Any]], list[list[Any]] | None, list[list[Any]] | None]:
    """Grounded choices, QA graphs and paths of every example (through the grounding cache)."""
    import hashlib

    from kglm.grounding.cache import GroundingCache, build_grounded_dataset

    want_qa = "qa" in config.graph_kinds
    want_paths = "paths" in config.graph_kinds
    kinds = "both" if want_qa and want_paths else ("qa" if want_qa else ("paths" if want_paths else None))

    def build() -> Any:
        return build_grounded_dataset(
            examples,
            kg,
            linker,
            graphs=kinds,
            max_nodes=config.max_nodes,
            hops=config.hops,
            max_hops=config.max_path_hops,
            max_paths_per_pair=config.max_paths_per_pair,
            show_progress=config.show_progress,
        )

    if cache_dir is not None and data_file is not None:
        # ids and texts: the same file read through another column mapping is other data
        ids = "\n".join("\x1f".join([str(ex.id), ex.question, *ex.choices]) for ex in examples)
        extraction = {
            "graphs": kinds,
            "max_nodes": config.max_nodes,
            "hops": config.hops,
            "max_hops": config.max_path_hops,
            "max_paths_per_pair": config.max_paths_per_pair,
            "examples": hashlib.sha256(ids.encode("utf-8")).hexdigest(),
        }
        data = GroundingCache(cache_dir).load_or_build(data_file, kg, linker, build, extraction=extraction)
        if len(data.grounded) != len(examples):
            raise ValueError(f"grounding cache entry of {data_file} does not match the examples")
    else:
        data = build()
    return data.grounded, data.graphs, data.paths


def build_dataset(
    examples: Sequence[MultipleChoiceExample],
    kg: KnowledgeGraph | None,
    linker: Any,
    tokenizer: PreTrainedTokenizerBase,
    config: FeatureConfig | None = None,
    *,
    cache_dir: str | None = None,
    data_file: str | None = None,
    knowledge: Any = None,
) -> MultipleChoiceDataset:
    """Ground, extract graphs for and tokenize ``examples``, once.

    Args:
        examples: multiple-choice examples (all with the same number of choices
            within a batch; the collator checks).
        kg: the knowledge graph; ``None`` (with ``linker=None``) builds text-only
            features for the LM baseline.
        linker: an entity linker (``linker(text) -> list[Mention]``).
        tokenizer: any Hugging Face *fast* tokenizer.
        config: feature settings.
        cache_dir: directory of the grounding cache (:class:`~kglm.grounding.GroundingCache`);
            grounded examples and graphs are reused from there on the next call
            with the same data file, examples, KG, linker and settings. Used only
            with ``data_file``; otherwise everything is computed in memory.
        data_file: the file ``examples`` were read from (its content is part of
            the cache key).
        knowledge: a :class:`~kglm.knowledge_text.KnowledgeTextConfig`: add a
            knowledge text to every choice (needs ``kg`` and ``linker``) and
            tokenize the text pair ``[question + choice] [SEP] [knowledge]``
            (:func:`tokenize_choices`); each text's token budget is also capped
            by what ``max_seq_length`` leaves after the question and choice.
            ``None`` (or mode ``"none"``) keeps plain (question, choice) pairs.

    Returns:
        a :class:`MultipleChoiceDataset` of :class:`ExampleFeatures`.
    """
    from tqdm.auto import tqdm

    config = config or FeatureConfig()
    if kg is None or linker is None:
        grounded: list[list[Any]] | None = None
        qa = paths = None
    else:
        grounded, qa, paths = _ground(examples, kg, linker, config, cache_dir, data_file)
    texts = None
    if knowledge is not None and knowledge.mode != "none":
        if kg is None or grounded is None:
            raise ValueError("knowledge text needs the knowledge graph and an entity linker")
        from kglm.knowledge_text.core import dataset_knowledge_texts

        texts = dataset_knowledge_texts(
            examples, grounded, kg, tokenizer, knowledge, config.max_seq_length, show_progress=config.show_progress
        )

    features: list[ExampleFeatures] = []
    for i, ex in enumerate(
        tqdm(examples, desc="tokenizing", disable=not config.show_progress, unit="q")
    ):
        enc = tokenize_choices(
            tokenizer, ex.question, ex.choices, config.max_seq_length, config.truncation,
            knowledge=[t.text for t in texts[i]] if texts is not None else None,
        )
        choices: list[ChoiceFeatures] = []
        for c in range(len(ex.choices)):
            entity_tokens: list[tuple[int, int]] = []
            if grounded is not None:
                gc = grounded[i][c]
                mentions = [(0, m.start, m.end, m.entity_id) for m in gc.question_mentions]
                if texts is None:
                    mentions += [(1, m.start, m.end, m.entity_id) for m in gc.answer_mentions]
                else:  # the choice follows the question in sequence 0
                    shift = len(ex.question) + 1
                    mentions += [(0, m.start + shift, m.end + shift, m.entity_id) for m in gc.answer_mentions]
                entity_tokens = align_mentions(
                    enc["offset_mapping"][c], enc.sequence_ids(c), mentions
                )
            choices.append(
                ChoiceFeatures(
                    input_ids=list(enc["input_ids"][c]),
                    attention_mask=list(enc["attention_mask"][c]),
                    token_type_ids=list(enc["token_type_ids"][c])
                    if "token_type_ids" in enc
                    else None,
                    entity_tokens=entity_tokens,
                    qa_graph=qa[i][c] if qa is not None else None,
                    paths=paths[i][c] if paths is not None else None,
                    knowledge=texts[i][c] if texts is not None else None,
                )
            )
        features.append(
            ExampleFeatures(
                id=ex.id,
                choices=choices,
                label=ex.label,
                grounding=grounded[i] if grounded is not None else None,
            )
        )
    return MultipleChoiceDataset(features, examples)


# ----------------------------------------------------------------------------- collator


class MultipleChoiceCollator:
    """Batch :class:`ExampleFeatures` into one flat dict of tensors.

    Args:
        tokenizer: the tokenizer that made the features (for its pad id and side).
        graph_kind: ``"qa"`` adds the 2-hop QA graph keys (``node_ids``,
            ``node_type``, ``graph_index``, ``edge_index``, ``edge_type``) and
            ``token_entity``; ``"paths"`` adds the KagNet schema graphs, their
            ``token_entity`` and ``path_nodes``, ``path_relations``,
            ``path_length``, ``path_graph``; ``None`` gives text keys only.
        pad_to_multiple_of: pad L to a multiple of this.
        include_labels: add ``labels`` when every feature has one.
        pad_to_length: pad every batch to at least this many tokens (fixed
            padding, e.g. to ``max_seq_length``); ``None`` pads to the batch's
            longest sequence (dynamic padding). Both give the same logits: the
            padding is masked.

    Shapes: see ``docs/architecture.md``, "Model batches". Graphs are the B*C
    choice graphs in row-major (question, choice) order.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        graph_kind: GraphKind | None = "qa",
        pad_to_multiple_of: int | None = None,
        include_labels: bool = True,
        pad_to_length: int | None = None,
    ) -> None:
        if graph_kind not in ("qa", "paths", None):
            raise ValueError(f"graph_kind must be 'qa', 'paths' or None, not {graph_kind!r}")
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.padding_side = getattr(tokenizer, "padding_side", "right")
        self.graph_kind = graph_kind
        self.pad_to_multiple_of = pad_to_multiple_of
        self.include_labels = include_labels
        self.pad_to_length = pad_to_length

    def __call__(self, features: Sequence[ExampleFeatures]) -> dict[str, torch.Tensor]:
        """Collate ``features`` into the model batch dict."""
        if not features:
            raise ValueError("cannot collate an empty batch")
        num_choices = len(features[0].choices)
        for f in features:
            if len(f.choices) != num_choices:
                raise ValueError(
                    f"example {f.id!r} has {len(f.choices)} choices, expected {num_choices}; "
                    "a batch needs the same number of choices everywhere"
                )
        B, C = len(features), num_choices
        L = max(len(ch.input_ids) for f in features for ch in f.choices)
        if self.pad_to_length is not None:
            L = max(L, int(self.pad_to_length))
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            L = (L + m - 1) // m * m
        has_tt = features[0].choices[0].token_type_ids is not None
        input_ids = torch.full((B, C, L), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((B, C, L), dtype=torch.long)
        token_type_ids = torch.zeros((B, C, L), dtype=torch.long) if has_tt else None
        shifts = torch.zeros((B, C), dtype=torch.long)
        for b, f in enumerate(features):
            for c, ch in enumerate(f.choices):
                n = len(ch.input_ids)
                s = L - n if self.padding_side == "left" else 0
                shifts[b, c] = s
                input_ids[b, c, s : s + n] = torch.tensor(ch.input_ids, dtype=torch.long)
                attention_mask[b, c, s : s + n] = torch.tensor(ch.attention_mask, dtype=torch.long)
                if token_type_ids is not None and ch.token_type_ids is not None:
                    token_type_ids[b, c, s : s + n] = torch.tensor(
                        ch.token_type_ids, dtype=torch.long
                    )
        batch: dict[str, torch.Tensor] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            batch["token_type_ids"] = token_type_ids
        if self.include_labels and all(f.label is not None for f in features):
            batch["labels"] = torch.tensor([f.label for f in features], dtype=torch.long)
        if self.graph_kind is not None:
            batch.update(self._graphs(features, L, shifts))
        return batch

    def _graphs(
        self, features: Sequence[ExampleFeatures], L: int, shifts: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        from kglm.grounding.collate import collate_graphs, collate_paths

        B, C = len(features), len(features[0].choices)
        if self.graph_kind == "qa":
            graphs = [ch.qa_graph for f in features for ch in f.choices]
            if any(g is None for g in graphs):
                raise ValueError("features have no QA graphs; build them with graph_kinds=('qa',)")
            out = dict(collate_graphs(graphs))
        else:
            paths = [ch.paths for f in features for ch in f.choices]
            if any(p is None for p in paths):
                raise ValueError(
                    "features have no KagNet paths; build them with graph_kinds=('paths',)"
                )
            out = dict(collate_paths(paths))
            graphs = [p.graph for p in paths]
        token_entity = torch.full((B, C, L), -1, dtype=torch.long)
        offset = 0
        for k, g in enumerate(graphs):
            b, c = divmod(k, C)
            node_ids = g.node_ids.tolist()
            first: dict[int, int] = {}
            for j, e in enumerate(node_ids):
                first.setdefault(int(e), j)
            for t, e in features[b].choices[c].entity_tokens:
                j = first.get(int(e))
                if j is not None:
                    token_entity[b, c, int(shifts[b, c]) + t] = offset + j
            offset += len(node_ids)
        out["token_entity"] = token_entity
        return out
