"""Score questions with a trained model and explain the answer.

:class:`Predictor` loads a model directory written by :func:`kglm.training.train`
(the model, its tokenizer and ``kglm_training.json``), grounds new questions
against the same knowledge graph and returns a :class:`Prediction`: choices
ranked by score, the concepts grounded in the question and each choice, the
graph nodes or KagNet paths the model attended to most, and on request a PNG
picture of the question's subgraph (:func:`kglm.training.drawing.draw_choice_graph`).

Example::

    predictor = Predictor.load("runs/qagnn")
    prediction = predictor.predict("Where would you keep milk cold?", ["fridge", "oven"])
    print(prediction.format())
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from kglm.grounding.defaults import DEFAULT_MAX_HOPS, DEFAULT_MAX_PATHS_PER_PAIR
from kglm.kg.graph import entity_display_name  # re-exported: its home is kglm.kg.graph
from kglm.training.drawing import NODE_TYPE_NAMES, draw_choice_graph  # draw_choice_graph: re-exported

if TYPE_CHECKING:  # pragma: no cover
    from kglm.kg.graph import KnowledgeGraph

__all__ = ["Predictor", "Prediction", "ChoiceExplanation", "draw_choice_graph", "entity_display_name"]

logger = logging.getLogger(__name__)



@dataclass
class ChoiceExplanation:
    """Why one choice got its score.

    Attributes:
        choice: the choice text.
        score: the model's logit.
        probability: softmax over the question's choices.
        question_concepts / answer_concepts: grounded concept names.
        top_nodes: ``(concept, node type, attention)`` of the most attended
            graph nodes (QA-GNN- and ERNIE-style models).
        top_paths: ``(path as text, attention)`` of the most attended paths
            (KagNet-style model).
        knowledge: the knowledge text fed with the choice (:mod:`kglm.knowledge_text`;
            ``""`` when it was empty), ``None`` for models without knowledge text.
    """

    choice: str
    score: float
    probability: float
    question_concepts: list[str] = field(default_factory=list)
    answer_concepts: list[str] = field(default_factory=list)
    top_nodes: list[tuple[str, str, float]] = field(default_factory=list)
    top_paths: list[tuple[str, float]] = field(default_factory=list)
    knowledge: str | None = None


@dataclass
class Prediction:
    """A scored question: ``ranked`` holds the choice explanations, best first."""

    question: str
    ranked: list[ChoiceExplanation]
    graphs: list[Any] = field(default_factory=list)
    node_attention: list[torch.Tensor | None] = field(default_factory=list)
    grounded: bool = False

    @property
    def answer(self) -> str:
        """The best-scored choice."""
        return self.ranked[0].choice

    @property
    def warnings(self) -> list[str]:
        """What the scores cannot rest on: choices (or a whole question) linked to no KG entity.

        Empty for models that use no knowledge graph (``grounded`` is ``False``).
        """
        if not self.grounded:
            return []
        out: list[str] = []
        unlinked = [ex.choice for ex in self.ranked if not ex.answer_concepts]
        no_question = not any(ex.question_concepts for ex in self.ranked)
        if no_question and len(unlinked) == len(self.ranked):
            out.append(
                "nothing in this question or its choices links to a KG entity: the scores come from the "
                "text alone, and near-equal probabilities are a guess"
            )
            return out
        if no_question:
            out.append("the question links to no KG entity: only the choices' own concepts reach the graph")
        for choice in unlinked:
            out.append(f"choice {choice!r} links to no KG entity: its score uses no knowledge about it")
        return out

    def format(self) -> str:
        """A human-readable report."""
        lines = [f"Q: {self.question}"]
        for rank, ex in enumerate(self.ranked, 1):
            lines.append(f"{rank}. {ex.choice:<24} score {ex.score:+.3f}  p={ex.probability:.3f}")
            if self.grounded or ex.question_concepts or ex.answer_concepts:
                lines.append(
                    f"     concepts: question [{', '.join(ex.question_concepts) or 'nothing linked'}]"
                    f"  answer [{', '.join(ex.answer_concepts) or 'nothing linked'}]"
                )
            if ex.top_nodes:
                nodes = ", ".join(f"{n} ({t}, {w:.2f})" for n, t, w in ex.top_nodes)
                lines.append(f"     top nodes: {nodes}")
            for path, weight in ex.top_paths:
                lines.append(f"     path {weight:.2f}: {path}")
            if ex.knowledge is not None:
                lines.append(f"     knowledge: {ex.knowledge or '(none)'}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class Predictor:
    """A trained model plus what it needs to ground new questions.

    Args:
        model: a kglm multiple-choice model.
        tokenizer: its tokenizer.
        kg: the knowledge graph (``None`` for the LM baseline).
        linker: an entity linker over ``kg``.
        info: the model directory's ``kglm_training.json`` settings.
    """

    def __init__(self, model: Any, tokenizer: Any, kg: Any = None, linker: Any = None, info: dict | None = None,
                 show_progress: bool = False) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.kg = kg
        self.linker = linker
        self.info = dict(info or {})
        self.show_progress = show_progress
        from kglm.knowledge_text.core import knowledge_config_from_settings

        self.knowledge = knowledge_config_from_settings(self.info.get("config") or {}) if kg is not None else None
        self.graph_kind = getattr(model.config, "graph_kind", None) if kg is not None else None
        if "model" in self.info:
            from kglm.models.registry import get_model_entry

            if get_model_entry(self.info["model"]).graph_kind is None:
                self.graph_kind = None

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], kg: str | None = None, show_progress: bool = False) -> Predictor:
        """Load a directory written by :func:`kglm.training.train`.

        Args:
            model_dir: the model directory.
            kg: the knowledge graph to ground against, when not the recorded one.
        """
        from transformers import AutoTokenizer

        from kglm.models.auto import load_model
        from kglm.training import resources
        from kglm.training.trainer import read_training_info

        if not Path(model_dir, "config.json").is_file():
            raise FileNotFoundError(f"no trained model in {model_dir} (config.json missing)")
        info = read_training_info(model_dir)
        model = load_model(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
        kg_source = kg or info.get("kg")
        graph = linker = None
        from kglm.models.registry import entry_for_model_type, get_model_entry

        entry = get_model_entry(info["model"]) if "model" in info else entry_for_model_type(model.config.model_type)
        uses_text_knowledge = (info.get("config") or {}).get("knowledge_text", "none") not in (None, "none")
        if (entry.needs_kg or uses_text_knowledge) and kg_source:
            cache_dir = info.get("cache_dir")  # None: kglm.utils.paths.cache_dir()
            from kglm.kg.graph import KnowledgeGraph

            kg_dir = resources.kg_directory(kg_source, info.get("kg_format", "auto") if kg is None else "auto", cache_dir)
            graph = KnowledgeGraph.load(kg_dir)
            if hasattr(model, "check_kg"):
                model.check_kg(graph)
            from kglm.kg.embeddings import check_kg_fingerprint

            check_kg_fingerprint(info.get("kg_fingerprint"), graph, f"the model in {model_dir}")
            mode = (info.get("config") or {}).get("grounding_mode", "longest")  # link as in training
            linker = resources.make_linker(graph, kg_dir, mode=mode, show_progress=None if show_progress else False)
        return cls(model, tokenizer, graph, linker, info, show_progress=show_progress)

    # ------------------------------------------------------------------ scoring
    def _features(self, examples: Sequence[Any]) -> Any:
        from kglm.datasets.features import FeatureConfig, build_dataset

        config = FeatureConfig(
            max_seq_length=int(self.info.get("max_seq_length", 128)),
            graph_kinds=(self.graph_kind,) if self.graph_kind else (),
            max_nodes=int(self.info.get("max_nodes", 200)),
            max_path_hops=int(self.info.get("max_path_hops", DEFAULT_MAX_HOPS)),
            max_paths_per_pair=int(self.info.get("max_paths_per_pair", DEFAULT_MAX_PATHS_PER_PAIR)),
            show_progress=self.show_progress,
        )
        dataset = build_dataset(examples, self.kg, self.linker, self.tokenizer, config, knowledge=self.knowledge)
        self._embed_unseen_entities(dataset)
        return dataset

    def _embed_unseen_entities(self, dataset: Any) -> None:
        """Text-encode the entities of ``dataset``'s graphs that the model has no row for.

        A model trained with ``embed_graph_entities_only`` has encoded rows only
        for its training and dev graphs' entities; the others are zero. They get
        their embedding the way the others did (labels encoded with the packaged
        MiniLM, :func:`kglm.training.trainer.fill_unseen_entity_embeddings`).
        """
        config = self.info.get("config") or {}
        if self.kg is None or config.get("entity_embeddings") != "text" or not config.get("embed_graph_entities_only"):
            return
        from kglm.training.trainer import fill_unseen_entity_embeddings, graph_entities

        filled = fill_unseen_entity_embeddings(
            self.model, self.kg, graph_entities([dataset]), cache_dir=self.info.get("cache_dir") or config.get("cache_dir"),
            show_progress=self.show_progress,
        )
        if filled:
            logger.info("text-encoded %d entities unseen in training (embed_graph_entities_only)", filled)

    def _forward(self, batch: dict[str, torch.Tensor], attention: bool) -> Any:
        params = inspect.signature(self.model.forward).parameters
        kwargs = dict(batch)
        if attention:
            for name in ("return_node_attention", "return_path_attention"):
                if name in params:
                    kwargs[name] = True
        # Score with the autocast and attention kernel the model was trained and
        # selected with (kglm_training.json), so `kglm evaluate` matches the trainer.
        from kglm.training.trainer import set_text_attention

        set_text_attention(self.model, self.info.get("attn_implementation"))
        bf16 = self.info.get("precision") == "bf16"
        device = next(self.model.parameters()).device.type
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            return self.model(**kwargs)

    def score_examples(self, examples: Sequence[Any], batch_size: int = 32) -> list[torch.Tensor]:
        """``(C,)`` logits of every example."""
        from tqdm.auto import tqdm

        from kglm.datasets.features import MultipleChoiceCollator

        dataset = self._features(examples)
        collator = MultipleChoiceCollator(self.tokenizer, graph_kind=self.graph_kind, include_labels=False)
        out: list[torch.Tensor] = []
        starts = range(0, len(dataset), batch_size)
        for start in tqdm(starts, desc="scoring", disable=not self.show_progress, unit="batch"):
            batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            logits = self._forward(batch, attention=False).logits
            out.extend(logits.detach().cpu())
        return out

    def predict(self, question: str, choices: Sequence[str], top_k: int = 5) -> Prediction:
        """Score one question and explain each choice.

        Args:
            question: the question text.
            choices: the candidate answers.
            top_k: how many nodes or paths to report per choice.
        """
        from kglm.datasets.features import MultipleChoiceCollator
        from kglm.datasets.readers import MultipleChoiceExample

        if not choices:
            raise ValueError("give at least one choice")
        example = MultipleChoiceExample(id="predict", question=question, choices=list(choices), label=None)
        dataset = self._features([example])
        collator = MultipleChoiceCollator(self.tokenizer, graph_kind=self.graph_kind, include_labels=False)
        batch = collator([dataset[0]])
        outputs = self._forward(batch, attention=True)
        logits = outputs.logits[0].detach().cpu()
        probs = torch.softmax(logits, -1)
        feats = dataset[0]
        explanations: list[ChoiceExplanation] = []
        graphs: list[Any] = []
        node_attention: list[torch.Tensor | None] = []
        node_att = getattr(outputs, "node_attention", None)
        path_att = getattr(outputs, "path_attention", None)
        offset = 0
        path_offset = 0
        for c, choice in enumerate(choices):
            ex = ChoiceExplanation(choice=choice, score=float(logits[c]), probability=float(probs[c]))
            if self.knowledge is not None:
                fed = feats.choices[c].knowledge
                ex.knowledge = fed.text if fed is not None else ""
            if feats.grounding is not None and self.kg is not None:
                g = feats.grounding[c]
                ex.question_concepts = [entity_display_name(self.kg, e) for e in g.question_entities]
                ex.answer_concepts = [entity_display_name(self.kg, e) for e in g.answer_entities]
            graph = None
            if self.graph_kind == "qa":
                graph = feats.choices[c].qa_graph
            elif self.graph_kind == "paths":
                graph = feats.choices[c].paths.graph
            graphs.append(graph)
            att = None
            if graph is not None:
                n = graph.num_nodes
                if node_att is not None and node_att.numel() >= offset + n:
                    att = node_att[offset : offset + n].detach().cpu().float()
                    order = torch.argsort(att, descending=True)[:top_k].tolist()
                    ex.top_nodes = [
                        (
                            entity_display_name(self.kg, int(graph.node_ids[j])),
                            NODE_TYPE_NAMES.get(int(graph.node_type[j]), "?"),
                            float(att[j]),
                        )
                        for j in order
                    ]
                offset += n
            node_attention.append(att)
            if self.graph_kind == "paths":
                paths = feats.choices[c].paths
                p = int(paths.path_nodes.shape[0])
                if path_att is not None and path_att.numel() >= path_offset + p and p:
                    weights = path_att[path_offset : path_offset + p].detach().cpu().float()
                    order = torch.argsort(weights, descending=True)[:top_k].tolist()
                    ex.top_paths = [(self._path_text(paths, j), float(weights[j])) for j in order]
                path_offset += p
            explanations.append(ex)
        order = torch.argsort(logits, descending=True).tolist()
        return Prediction(
            question=question,
            ranked=[explanations[i] for i in order],
            graphs=[graphs[i] for i in order],
            node_attention=[node_attention[i] for i in order],
            grounded=feats.grounding is not None and self.kg is not None,
        )

    def _path_text(self, paths: Any, j: int) -> str:
        kg = self.kg
        nodes = paths.path_nodes[j].tolist()
        rels = paths.path_relations[j].tolist()
        length = int(paths.path_length[j])
        num_rel = kg.num_relations
        parts = [entity_display_name(kg, int(paths.graph.node_ids[nodes[0]]))]
        for h in range(length):
            r = int(rels[h])
            name = kg.relations[r % num_rel].rsplit("/", 1)[-1]
            parts.append(f"-[{name}{'^-1' if r >= num_rel else ''}]->")
            parts.append(entity_display_name(kg, int(paths.graph.node_ids[nodes[h + 1]])))
        return " ".join(parts)

    def draw(self, prediction: Prediction, path: str | os.PathLike[str], choice: int = 0) -> Path:
        """Save a PNG of the subgraph of ``prediction``'s ``choice``-th ranked choice.

        A choice whose graph has no question or answer concept gets a picture
        that says "no concepts linked" rather than an empty drawing.
        """
        if self.kg is None:
            raise ValueError("this model has no knowledge graph to draw")
        graph = prediction.graphs[choice]
        if graph is None:
            raise ValueError("this prediction has no graph")
        title = f"{prediction.question}\n-> {prediction.ranked[choice].choice}"
        return draw_choice_graph(self.kg, graph, path, prediction.node_attention[choice], title=title)
