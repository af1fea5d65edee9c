"""Knowledge as text: a grounded (question, choice) becomes a short knowledge text.

The text (DEKCOR / KEAR style) has two parts:

* **facts**: KagNet paths (:func:`~kglm.grounding.find_paths`, at most
  ``max_hops`` hops) between the question entities and the choice entities,
  each verbalised with per-relation templates (:mod:`kglm.knowledge_text.templates`),
  e.g. "ice cream is found in a freezer"; a two-hop path reads "a is ..., and b
  is ...". They are ranked by the scorer; the default ranks shorter paths
  first, then paths that start at the question concept, then by the mean
  relation prior of their hops (:data:`DEFAULT_RELATION_PRIOR`: ``RelatedTo``-like
  relations count less), then paths whose intermediate entities have a smaller
  KG degree (hubs such as "person" or "something" say little), then
  alphabetically (``scorer="similarity"`` puts the facts most similar to the
  question and choice first instead, :mod:`kglm.knowledge_text.similarity`);
  the top ``max_facts`` distinct sentences are kept;
* **descriptions**: the first description (:meth:`KnowledgeGraph.descriptions_of
  <kglm.kg.graph.KnowledgeGraph.descriptions_of>`) of the choice's entity and of
  the question concept, as "name: description." (the choice's entity named as
  the choice text mentions it, others by their first label). The choice's
  entity is the first of its linked entities that has a description. The question concept is
  the question entity whose label (or, failing that, whose mention in the
  question) equals the example's ``question_concept`` (CommonsenseQA gives it)
  when there is one, else the first linked question entity with a description.

The text is fitted to a token budget (``max_tokens``, counted with the model's
tokenizer, or in words without one): the lowest-ranked facts are dropped first,
then the descriptions are cut, the question concept's first. Everything is
deterministic.

Example:
    >>> from kglm.kg.graph import KnowledgeGraph
    >>> from kglm.grounding.ground import GroundedChoice
    >>> kg = KnowledgeGraph.from_triples(
    ...     [("ice cream", "AtLocation", "freezer"), ("freezer", "PartOf", "fridge")],
    ...     descriptions={"freezer": ["a cold compartment for frozen food"]})
    >>> choice = GroundedChoice([kg.entity_id("ice cream")], [kg.entity_id("freezer")])
    >>> knowledge_text(choice, kg).text
    'ice cream is found in a freezer. freezer: a cold compartment for frozen food.'
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from kglm.errors import ConfigError
from kglm.knowledge_text.templates import check_templates, relation_key, verbalize

if TYPE_CHECKING:  # pragma: no cover
    from kglm.grounding.ground import GroundedChoice
    from kglm.kg.graph import KnowledgeGraph

__all__ = [
    "KNOWLEDGE_MODES",
    "KNOWLEDGE_CONTROLS",
    "DEFAULT_RELATION_PRIOR",
    "KnowledgeTextConfig",
    "Fact",
    "Description",
    "KnowledgeText",
    "knowledge_text",
    "knowledge_texts",
    "shuffle_knowledge",
    "dataset_knowledge_texts",
    "knowledge_config_from_settings",
    "KNOWLEDGE_SCORERS",
]

#: What goes into the text: nothing, facts only, descriptions only, both.
KNOWLEDGE_MODES = ("none", "facts", "descriptions", "both")
#: Controls: ``"shuffled"`` gives each choice the text of another question's same-index choice.
KNOWLEDGE_CONTROLS = ("none", "shuffled")
#: Built-in fact scorers (a callable is the third kind): see :class:`KnowledgeTextConfig`.
KNOWLEDGE_SCORERS = ("default", "similarity")

#: Relation prior of the default scorer, by normalised relation name
#: (:func:`~kglm.knowledge_text.templates.relation_key`); relations not listed count 1.0.
DEFAULT_RELATION_PRIOR: dict[str, float] = {
    "relatedto": 0.3,
    "hascontext": 0.4,
    "alsosee": 0.4,
    "seealso": 0.4,
    "derivation": 0.4,
    "derivationallyrelatedform": 0.4,
    "formof": 0.3,
    "etymologicallyrelatedto": 0.2,
    "etymologicallyderivedfrom": 0.2,
    "derivedfrom": 0.4,
    "synonym": 0.6,
    "similarto": 0.6,
    "similar": 0.6,
    "verbgroup": 0.6,
    "antonym": 0.6,
    "distinctfrom": 0.5,
    "domaintopic": 0.6,
    "domainregion": 0.5,
    "domainusage": 0.3,
    "memberofdomaintopic": 0.6,
    "memberofdomainregion": 0.5,
    "memberofdomainusage": 0.3,
}

Scorer = Callable[["Fact"], Any]


@dataclass(frozen=True)
class KnowledgeTextConfig:
    """How a grounded choice becomes knowledge text (one place for these defaults).

    Args:
        include_facts: put verbalised KG facts in the text.
        include_descriptions: put the choice's and the question concept's descriptions in the text.
        max_facts: the most facts kept (before the token budget).
        max_tokens: token budget of the whole knowledge text.
        max_hops: longest question-to-choice path turned into a fact.
        max_paths_per_pair: candidate paths searched per (question entity, choice entity) pair.
        templates: user templates, relation name -> template with ``{head}`` and
            ``{tail}`` slots (``{head_a}`` / ``{tail_a}`` add an article); they
            override the built-in ones (:mod:`kglm.knowledge_text.templates`).
        relation_prior: overrides of :data:`DEFAULT_RELATION_PRIOR`.
        scorer: ``"default"`` (see the module docstring); ``"similarity"``: the
            facts most similar to ``question + " " + choice`` first, and the most
            similar of the candidate descriptions (cosine of sentence embeddings by
            ``similarity_encoder``, :class:`~kglm.knowledge_text.similarity.TextSimilarity`;
            ties in the default order); or a callable giving a sort key per :class:`Fact`
            (smaller ranks first; ties broken by text).
        similarity_encoder: the sentence encoder of ``scorer="similarity"`` (an HF
            name or path, or ``"minilm"``: the packaged all-MiniLM-L6-v2).
        control: ``"none"`` or ``"shuffled"`` (applied by :func:`shuffle_knowledge`
            and by :func:`~kglm.datasets.features.build_dataset`).
        seed: seed of the shuffled control.
    """

    include_facts: bool = True
    include_descriptions: bool = True
    max_facts: int = 3
    max_tokens: int = 64
    max_hops: int = 2
    max_paths_per_pair: int = 32
    templates: Mapping[str, str] = field(default_factory=dict)
    relation_prior: Mapping[str, float] = field(default_factory=dict)
    scorer: str | Scorer = "default"
    similarity_encoder: str = "minilm"
    control: str = "none"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_facts < 0:
            raise ConfigError(f"knowledge max_facts must be >= 0, got {self.max_facts}")
        if self.max_tokens < 1:
            raise ConfigError(f"knowledge max_tokens must be >= 1, got {self.max_tokens}")
        if self.max_hops < 1:
            raise ConfigError(f"knowledge max_hops must be >= 1, got {self.max_hops}")
        if self.max_paths_per_pair < 1:
            raise ConfigError(f"knowledge max_paths_per_pair must be >= 1, got {self.max_paths_per_pair}")
        if self.control not in KNOWLEDGE_CONTROLS:
            raise ConfigError(f"knowledge control {self.control!r} is not one of {KNOWLEDGE_CONTROLS}")
        if not (self.scorer in KNOWLEDGE_SCORERS or callable(self.scorer)):
            raise ConfigError(f"knowledge scorer must be one of {KNOWLEDGE_SCORERS} or a callable, got {self.scorer!r}")
        check_templates(self.templates)

    @property
    def mode(self) -> str:
        """``"both"``, ``"facts"``, ``"descriptions"`` or ``"none"``."""
        if self.include_facts and self.include_descriptions:
            return "both"
        return "facts" if self.include_facts else ("descriptions" if self.include_descriptions else "none")

    @classmethod
    def from_mode(cls, mode: str, **kwargs: Any) -> KnowledgeTextConfig:
        """The config of a mode of :data:`KNOWLEDGE_MODES` (``"facts"`` = facts only, ...)."""
        if mode not in KNOWLEDGE_MODES:
            raise ConfigError(f"knowledge_text={mode!r} is not one of {KNOWLEDGE_MODES}")
        return cls(include_facts=mode in ("facts", "both"), include_descriptions=mode in ("descriptions", "both"), **kwargs)

    def cache_key(self) -> dict[str, Any]:
        """The settings that determine the texts (JSON-ready; a callable scorer by its qualified name)."""
        scorer = self.scorer if isinstance(self.scorer, str) else f"{self.scorer.__module__}.{self.scorer.__qualname__}"
        return {
            "mode": self.mode,
            "max_facts": self.max_facts,
            "max_tokens": self.max_tokens,
            "max_hops": self.max_hops,
            "max_paths_per_pair": self.max_paths_per_pair,
            "templates": dict(sorted(check_templates(self.templates).items())),
            "relation_prior": dict(sorted((relation_key(k), float(v)) for k, v in self.relation_prior.items())),
            "scorer": scorer,
            "control": self.control,
            "seed": self.seed,
            # only with that scorer, so that the keys (and caches) of the other scorers stay as they were
            **({"similarity_encoder": self.similarity_encoder} if self.scorer == "similarity" else {}),
        }


def knowledge_config_from_settings(settings: Mapping[str, Any]) -> KnowledgeTextConfig | None:
    """The :class:`KnowledgeTextConfig` of :class:`~kglm.training.TrainingConfig`-style settings
    (``knowledge_text``, ``knowledge_control``, ``knowledge_max_tokens``,
    ``knowledge_max_facts``, ``knowledge_templates``, ``knowledge_scorer``); ``None`` when
    ``knowledge_text`` is ``"none"`` or absent.

    Raises:
        ConfigError: for an unknown mode or control, or a control without knowledge text.
    """
    mode = settings.get("knowledge_text") or "none"
    control = settings.get("knowledge_control") or "none"
    if mode == "none":
        if control != "none":
            raise ConfigError(f"knowledge_control={control!r} needs knowledge_text other than 'none'")
        return None
    defaults = KnowledgeTextConfig()
    return KnowledgeTextConfig.from_mode(
        str(mode),
        max_tokens=int(settings.get("knowledge_max_tokens", defaults.max_tokens)),
        max_facts=int(settings.get("knowledge_max_facts", defaults.max_facts)),
        templates=dict(settings.get("knowledge_templates") or {}),
        scorer=str(settings.get("knowledge_scorer") or defaults.scorer),
        control=str(control),
    )


@dataclass(frozen=True)
class Fact:
    """A verbalised path from a question entity to a choice entity.

    Attributes:
        text: the sentence(s), without a final full stop.
        triples: the KG triples of the path, ``(head name, relation, tail name)``, in path order.
        entities: the entity ids along the path, question entity first.
        length: hops.
        prior: mean relation prior of the hops.
        from_question_concept: whether the path starts at the question concept.
        hub_degree: the largest KG degree (in + out) of the path's intermediate
            entities (0 for one hop): paths through hubs ("person", "something") say little.
    """

    text: str
    triples: tuple[tuple[str, str, str], ...]
    entities: tuple[int, ...]
    length: int
    prior: float
    from_question_concept: bool = False
    hub_degree: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "triples": [list(t) for t in self.triples],
            "entities": list(self.entities),
            "length": self.length,
            "prior": self.prior,
            "from_question_concept": self.from_question_concept,
            "hub_degree": self.hub_degree,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        return cls(
            str(data["text"]),
            tuple((str(h), str(r), str(t)) for h, r, t in data["triples"]),
            tuple(int(e) for e in data["entities"]),
            int(data["length"]),
            float(data["prior"]),
            bool(data.get("from_question_concept", False)),
            int(data.get("hub_degree", 0)),
        )


@dataclass(frozen=True)
class Description:
    """A description put in the text: ``role`` is ``"answer"`` or ``"question"``."""

    entity: int
    name: str
    role: str
    text: str

    def sentence(self) -> str:
        """``"name: text."``"""
        return _sentence(f"{self.name}: {self.text}")

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "name": self.name, "role": self.role, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Description:
        return cls(int(data["entity"]), str(data["name"]), str(data["role"]), str(data["text"]))


@dataclass
class KnowledgeText:
    """The knowledge text of one (question, choice) and what it was made of.

    Attributes:
        text: the text fed to the model (``""`` when there is no knowledge).
        facts: the facts in the text, best first.
        descriptions: the descriptions in the text (possibly cut to fit).
        num_tokens: length of ``text`` in tokens (words without a tokenizer).
        dropped_facts: facts left out to fit the budget.
        truncated: whether a description was cut.
    """

    text: str = ""
    facts: list[Fact] = field(default_factory=list)
    descriptions: list[Description] = field(default_factory=list)
    num_tokens: int = 0
    dropped_facts: int = 0
    truncated: bool = False

    def __bool__(self) -> bool:
        return bool(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "facts": [f.to_dict() for f in self.facts],
            "descriptions": [d.to_dict() for d in self.descriptions],
            "num_tokens": self.num_tokens,
            "dropped_facts": self.dropped_facts,
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KnowledgeText:
        return cls(
            str(data["text"]),
            [Fact.from_dict(f) for f in data.get("facts", [])],
            [Description.from_dict(d) for d in data.get("descriptions", [])],
            int(data.get("num_tokens", 0)),
            int(data.get("dropped_facts", 0)),
            bool(data.get("truncated", False)),
        )


# ----------------------------------------------------------------------------- helpers


def _one_line(text: str) -> str:
    """``text`` with each run of whitespace made one space: how a description or mention is
    said, and the key its similarity embedding is cached under (so pre-encoded texts match)."""
    return " ".join(text.split())


def _sentence(text: str) -> str:
    text = _one_line(text)
    if not text:
        return ""
    return text if text[-1] in ".!?" else text + "."


def _normal(text: str) -> str:
    return " ".join(str(text).lower().replace("_", " ").split())


class _TokenCounter:
    """Counts tokens with a tokenizer (no special tokens), or words without one."""

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer
        self._cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        n = self._cache.get(text)
        if n is None:
            if self.tokenizer is None:
                n = len(text.split())
            else:
                n = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._cache) < 100_000:
                self._cache[text] = n
        return n

    def truncate(self, text: str, budget: int) -> str:
        """The longest word prefix of ``text`` within ``budget`` tokens (binary search)."""
        words = text.split()
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self(" ".join(words[:mid])) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])


def _question_concept_entity(
    kg: KnowledgeGraph, entities: Sequence[int], question_concept: str | None, mentions: Sequence[Any] = ()
) -> int | None:
    """The question entity matching ``question_concept``: one with that label, else the
    entity of a question mention with that text ("magazines" -> magazine), else ``None``."""
    if not question_concept:
        return None
    wanted = _normal(question_concept)
    for e in entities:
        if any(_normal(label) == wanted for label in kg.labels_of(int(e))):
            return int(e)
    allowed = {int(e) for e in entities}
    for m in mentions:
        if _normal(m.text) == wanted and int(m.entity_id) in allowed:
            return int(m.entity_id)
    return None


class _Verbalizer:
    """Turns paths into facts for one KG and config (caches names and priors)."""

    def __init__(self, kg: KnowledgeGraph, config: KnowledgeTextConfig) -> None:
        self.kg = kg
        self.config = config
        self.templates = check_templates(config.templates)
        prior = dict(DEFAULT_RELATION_PRIOR)
        prior.update({relation_key(k): float(v) for k, v in config.relation_prior.items()})
        self.relation_prior = [prior.get(relation_key(r), 1.0) for r in kg.relations]
        self._names: dict[int, str] = {}
        self.degree = (kg.degree("out") + kg.degree("in")).tolist() if isinstance(config.scorer, str) else None

    def name(self, entity_id: int) -> str:
        n = self._names.get(entity_id)
        if n is None:
            from kglm.kg.graph import entity_display_name  # here: importing this module stays torch-free

            n = self._names[entity_id] = entity_display_name(self.kg, entity_id)
        return n

    def facts(self, paths: Any, question_concept: int | None) -> list[Fact]:
        """Every distinct fact of a :class:`~kglm.grounding.ChoicePaths`, ranked."""
        if paths is None or paths.num_paths == 0:
            return []
        R = self.kg.num_relations
        relations = self.kg.relations
        node_ids = paths.graph.node_ids.tolist()
        seen: dict[str, Fact] = {}
        for nodes, rels, length in zip(paths.path_nodes.tolist(), paths.path_relations.tolist(), paths.path_length.tolist()):
            ents = [node_ids[j] for j in nodes[: length + 1]]
            triples = []
            priors = []
            for h in range(length):
                u, v, t = ents[h], ents[h + 1], rels[h]
                r, head, tail = (t, u, v) if t < R else (t - R, v, u)
                triples.append((self.name(head), relations[r], self.name(tail)))
                priors.append(self.relation_prior[r])
            text = ", and ".join(verbalize(h, r, t, self.templates) for h, r, t in triples)
            fact = Fact(
                text,
                tuple(triples),
                tuple(ents),
                int(length),
                sum(priors) / len(priors),
                question_concept is not None and ents[0] == question_concept,
                max((self.degree[e] for e in ents[1:-1]), default=0) if self.degree is not None else 0,
            )
            old = seen.get(text)
            if old is None or self._key(fact) < self._key(old):
                seen[text] = fact
        return sorted(seen.values(), key=self._key)

    def _key(self, fact: Fact) -> tuple[Any, ...]:
        if isinstance(self.config.scorer, str):  # "similarity" re-ranks this order (knowledge_texts)
            return (fact.length, not fact.from_question_concept, -fact.prior, fact.hub_degree, fact.text)
        return (self.config.scorer(fact), fact.text)  # type: ignore[operator]

    def descriptions(
        self, grounded: GroundedChoice, question_concept: int | None, pick: Callable[[list[str]], int] | None = None
    ) -> list[Description]:
        """The choice's description, then the question concept's. Without ``pick``: the first
        description of the first entity that has one. With ``pick`` (``scorer="similarity"``):
        ``pick(texts)`` chooses among every description of every candidate entity (the
        choice's linked entities; the question concept's descriptions, or failing those every
        question entity's), so that of several senses the one that fits the question is said."""
        out: list[Description] = []
        said = {int(m.entity_id): _one_line(m.text) for m in grounded.answer_mentions if m.text.strip()}

        def choose(entities: Sequence[int], exclude: set[int]) -> tuple[int, str] | None:
            found: list[tuple[int, str]] = []
            for e in entities:
                if int(e) in exclude:
                    continue
                texts = self.kg.descriptions_of(int(e))
                if pick is None:
                    if texts and texts[0].strip():  # the first description, when it says something
                        found.append((int(e), _one_line(texts[0])))
                        break
                else:
                    found.extend((int(e), _one_line(t)) for t in texts if t.strip())
            if not found:
                return None
            return found[pick([t for _, t in found]) if pick is not None and len(found) > 1 else 0]

        answer = choose(list(grounded.answer_entities), set())
        if answer is not None:
            name = said.get(answer[0]) or self.name(answer[0])  # as the choice says it
            out.append(Description(answer[0], name, "answer", answer[1]))
        used = {d.entity for d in out}
        question = None
        if question_concept is not None and pick is not None:
            question = choose([question_concept], used)  # the concept's own senses first
        if question is None:
            candidates = ([question_concept] if question_concept is not None else []) + list(grounded.question_entities)
            question = choose(candidates, used)
        if question is not None:
            out.append(Description(question[0], self.name(question[0]), "question", question[1]))
        return out


def _fit(
    facts: list[Fact], descriptions: list[Description], budget: int, count: _TokenCounter
) -> KnowledgeText:
    """Compose the text within ``budget`` tokens: drop facts from the end, then cut descriptions."""

    def compose(fs: Sequence[Fact], ds: Sequence[Description]) -> str:
        parts = [_sentence(f.text) for f in fs] + [d.sentence() for d in ds]
        return " ".join(p for p in parts if p)

    kept = list(facts)
    descs = list(descriptions)
    text = compose(kept, descs)
    n = count(text)
    while n > budget and kept:
        kept.pop()
        text = compose(kept, descs)
        n = count(text)
    truncated = False
    # cut descriptions: the question concept's (last) first, down to nothing if need be
    for k in range(len(descs) - 1, -1, -1):
        if n <= budget:
            break
        truncated = True
        others = compose(kept, descs[:k] + descs[k + 1 :])
        d = descs[k]
        room = budget - count(others)
        prefix = f"{d.name}:"
        descs.pop(k)
        while room > count(prefix):  # the longest cut whose sentence (with its full stop) fits
            body = count.truncate(d.sentence(), room)
            cut = body[len(prefix):].strip().rstrip(".") if body.startswith(prefix) else ""
            if not cut:
                break
            trial = descs[:k] + [Description(d.entity, d.name, d.role, cut)] + descs[k:]
            if count(compose(kept, trial)) <= budget:
                descs = trial
                break
            room -= 1
        text = compose(kept, descs)
        n = count(text)
    while n > budget and text:  # tokenizers that count a joined text differently: cut words
        truncated = True
        text = count.truncate(text, budget)
        n = count(text)
    return KnowledgeText(text, kept, descs, n, len(facts) - len(kept), truncated)


# ----------------------------------------------------------------------------- API


def knowledge_text(
    grounded: GroundedChoice,
    kg: KnowledgeGraph,
    config: KnowledgeTextConfig | None = None,
    *,
    tokenizer: Any = None,
    question_concept: str | None = None,
    max_tokens: int | None = None,
    query: str | None = None,
    similarity: Any = None,
) -> KnowledgeText:
    """The knowledge text of one grounded (question, choice).

    Args:
        grounded: the choice's question and answer entities.
        kg: the knowledge graph they were grounded in.
        config: settings (defaults: :class:`KnowledgeTextConfig`).
        tokenizer: counts the budget in this tokenizer's tokens (words without one).
        question_concept: the example's question concept (CommonsenseQA's ``question_concept``), if known.
        max_tokens: a budget tighter than ``config.max_tokens`` (the smaller one applies).
        query: what ``scorer="similarity"`` ranks the facts against (the question and the choice).
        similarity: the :class:`~kglm.knowledge_text.similarity.TextSimilarity` to use
            (default: one for ``config.similarity_encoder``).

    Returns:
        a :class:`KnowledgeText`.
    """
    return knowledge_texts(
        [[grounded]], kg, config, tokenizer=tokenizer, question_concepts=[question_concept],
        budgets=None if max_tokens is None else [[max_tokens]],
        queries=None if query is None else [[query]], similarity=similarity,
    )[0][0]


def knowledge_texts(
    grounded: Sequence[Sequence[GroundedChoice]],
    kg: KnowledgeGraph,
    config: KnowledgeTextConfig | None = None,
    *,
    tokenizer: Any = None,
    question_concepts: Sequence[str | None] | None = None,
    budgets: Sequence[Sequence[int]] | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
    queries: Sequence[Sequence[str]] | None = None,
    similarity: Any = None,
) -> list[list[KnowledgeText]]:
    """:func:`knowledge_text` for every choice of many examples (paths found in vectorised batches).

    Args:
        grounded: ``grounded[i][j]`` grounds choice ``j`` of example ``i``.
        kg: the knowledge graph.
        config: settings. ``config.control`` is *not* applied here (see :func:`shuffle_knowledge`).
        tokenizer: counts tokens (words without one).
        question_concepts: per example, its question concept or ``None``.
        budgets: per choice, a token budget tighter than ``config.max_tokens``.
        batch_size: (question, choice) pairs per path-finding batch.
        show_progress: tqdm bar.
        queries: per choice, the text ``scorer="similarity"`` ranks its facts against
            (:func:`dataset_knowledge_texts` gives ``question + " " + choice``); required
            with that scorer.
        similarity: the :class:`~kglm.knowledge_text.similarity.TextSimilarity` of that
            scorer (default: one for ``config.similarity_encoder``).

    Returns:
        ``texts[i][j]``: the :class:`KnowledgeText` of choice ``j`` of example ``i``.

    Raises:
        ValueError: ``scorer="similarity"`` without ``queries``, or queries of another shape.
    """
    from kglm.grounding.paths import find_paths_batch

    config = config or KnowledgeTextConfig()
    if question_concepts is not None and len(question_concepts) != len(grounded):
        raise ValueError(f"{len(question_concepts)} question concepts for {len(grounded)} examples")
    verbalizer = _Verbalizer(kg, config)
    count = _TokenCounter(tokenizer)
    flat = [(i, j, g) for i, choices in enumerate(grounded) for j, g in enumerate(choices)]
    concept_ids: list[int | None] = []
    for i, choices in enumerate(grounded):
        concept = question_concepts[i] if question_concepts is not None else None
        entities = list(dict.fromkeys(e for g in choices for e in g.question_entities))
        mentions = choices[0].question_mentions if choices else []
        concept_ids.append(_question_concept_entity(kg, entities, concept, mentions))
    paths: list[Any] = [None] * len(flat)
    if config.include_facts and config.max_facts > 0:
        todo = [k for k, (_, _, g) in enumerate(flat) if g.question_entities and g.answer_entities]
        found = find_paths_batch(
            kg,
            [(flat[k][2].question_entities, flat[k][2].answer_entities) for k in todo],
            max_hops=config.max_hops,
            max_paths_per_pair=config.max_paths_per_pair,
            batch_size=batch_size,
            progress=show_progress,
        )
        for k, p in zip(todo, found):
            paths[k] = p
    ranked = [verbalizer.facts(p, _choice_concept(concept_ids[i], g)) if p is not None else []
              for p, (i, _, g) in zip(paths, flat)]  # fmt: skip
    if config.scorer == "similarity":
        if queries is None:
            raise ValueError("knowledge scorer 'similarity' needs the queries (question and choice texts)")
        if len(queries) != len(grounded) or any(len(q) != len(c) for q, c in zip(queries, grounded)):
            raise ValueError("queries must hold one text per choice, shaped like the grounded examples")
        similarity = similarity or _similarity_for(config)
        if config.include_descriptions:  # the candidate descriptions, encoded with the facts in one pass
            entities = {int(e) for _, _, g in flat for e in (*g.answer_entities, *g.question_entities)}
            similarity.encode(
                [_one_line(t) for e in sorted(entities) for t in kg.descriptions_of(e) if t.strip()],
                progress=show_progress,
            )
        ranked = _rank_by_similarity(ranked, flat, queries, similarity, show_progress)
    out: list[list[KnowledgeText]] = [[] for _ in grounded]
    for k, (i, j, g) in enumerate(flat):
        concept = _choice_concept(concept_ids[i], g)
        facts = ranked[k][: config.max_facts]
        pick = None
        if config.scorer == "similarity":
            pick = partial(_most_similar, similarity, queries[i][j])  # type: ignore[index]
        descs = verbalizer.descriptions(g, concept, pick) if config.include_descriptions else []
        budget = config.max_tokens
        if budgets is not None:
            budget = max(0, min(budget, int(budgets[i][j])))
        out[i].append(_fit(facts, descs, budget, count))
    return out


def _choice_concept(concept: int | None, grounded: GroundedChoice) -> int | None:
    """The question concept, unless it is not among this choice's question entities
    (then it is the choice's answer entity)."""
    return concept if concept is not None and concept in grounded.question_entities else None


def _similarity_for(config: KnowledgeTextConfig) -> Any:
    from kglm.knowledge_text.similarity import TextSimilarity

    return TextSimilarity(config.similarity_encoder)


def _most_similar(similarity: Any, query: str, texts: list[str]) -> int:
    """The index of the text most similar to ``query`` (the first of equals)."""
    scores = similarity.scores(query, texts)
    return max(range(len(texts)), key=lambda n: (scores[n], -n))


def _rank_by_similarity(
    ranked: list[list[Fact]],
    flat: Sequence[tuple[int, int, GroundedChoice]],
    queries: Sequence[Sequence[str]],
    similarity: Any,
    show_progress: bool,
) -> list[list[Fact]]:
    """Each choice's facts, most similar to its query first (a stable sort: ties keep the default order).
    Every query is encoded (the descriptions are picked against it too)."""
    similarity.encode(
        [queries[i][j] for i, j, _ in flat] + [f.text for fs in ranked for f in fs],
        progress=show_progress,
    )
    out = []
    for (i, j, _), facts in zip(flat, ranked):
        if len(facts) > 1:
            scores = similarity.scores(queries[i][j], [f.text for f in facts])
            order = sorted(range(len(facts)), key=lambda n: -scores[n])
            facts = [facts[n] for n in order]
        out.append(facts)
    return out


def shuffle_knowledge(texts: Sequence[Sequence[KnowledgeText]], seed: int = 0) -> list[list[KnowledgeText]]:
    """The shuffled-knowledge control: each choice gets another question's same-index choice's text.

    Examples with the same number of choices are arranged in one random cycle
    (seeded), and each example takes the texts of the next example in the cycle,
    choice by choice; so no choice keeps its own question's text, and the texts
    are only reassigned (the multiset of texts, hence the length distribution,
    is unchanged). An example that is the only one with its number of choices
    gets empty texts.

    Args:
        texts: ``texts[i][j]`` of choice ``j`` of example ``i``.
        seed: seed of the cycle.

    Returns:
        the reassigned texts, same shape.
    """
    groups: dict[int, list[int]] = {}
    for i, choices in enumerate(texts):
        groups.setdefault(len(choices), []).append(i)
    rng = random.Random(seed)
    out: list[list[KnowledgeText]] = [[] for _ in texts]
    for size, members in sorted(groups.items()):
        if len(members) < 2:
            for i in members:
                out[i] = [KnowledgeText() for _ in range(size)]
            continue
        order = list(members)
        rng.shuffle(order)
        for k, i in enumerate(order):
            donor = order[(k + 1) % len(order)]
            out[i] = list(texts[donor])
    return out


def dataset_knowledge_texts(
    examples: Sequence[Any],
    grounded: Sequence[Sequence[GroundedChoice]],
    kg: KnowledgeGraph,
    tokenizer: Any,
    config: KnowledgeTextConfig,
    max_seq_length: int | None = None,
    *,
    show_progress: bool = False,
) -> list[list[KnowledgeText]]:
    """The knowledge texts of a data set, as :func:`~kglm.datasets.features.build_dataset` feeds them.

    Each choice's budget is ``config.max_tokens``, capped by what
    ``max_seq_length`` leaves after ``question + " " + choice`` and the special
    tokens of a pair, so the tokenizer rarely has to cut a text. The example's
    ``metadata["question_concept"]`` is used when present. With
    ``config.control == "shuffled"`` the texts are reassigned by
    :func:`shuffle_knowledge` (seed ``config.seed``).

    Args:
        examples: the examples (``question``, ``choices``, ``metadata``).
        grounded: their grounding, ``grounded[i][j]`` per choice.
        kg: the knowledge graph.
        tokenizer: the model's tokenizer.
        config: the knowledge-text settings.
        max_seq_length: the model's sequence length (``None``: no cap).

    Raises:
        ConfigError: descriptions-only texts (``knowledge_text="descriptions"``) from a KG
            without descriptions: every text would be empty (a run would be the LM
            baseline, not an ablation; ConceptNet-100K alone is such a KG).
    """
    if len(examples) != len(grounded):
        raise ValueError(f"{len(grounded)} grounded examples for {len(examples)} examples")
    if examples and not config.include_facts and config.include_descriptions and not kg.num_descriptions:
        raise ConfigError(
            "knowledge_text='descriptions': the KG has no entity descriptions, so every knowledge text would be "
            "empty (the LM baseline with padding); take a KG with descriptions, e.g. kg='CN100K + WORDNET_DIR' "
            "(merged by label, WordNet's glosses become descriptions)"
        )
    budgets = None
    if max_seq_length is not None:
        firsts = [f"{ex.question} {c}" for ex in examples for c in ex.choices]
        lengths = tokenizer(firsts, add_special_tokens=False)["input_ids"] if firsts else []
        special = tokenizer.num_special_tokens_to_add(pair=True)
        it = iter(lengths)
        budgets = [[max(0, max_seq_length - special - len(next(it))) for _ in ex.choices] for ex in examples]
    concepts = [
        (ex.metadata or {}).get("question_concept") if isinstance(getattr(ex, "metadata", None), Mapping) else None
        for ex in examples
    ]
    queries = [[f"{ex.question} {c}" for c in ex.choices] for ex in examples] if config.scorer == "similarity" else None
    texts = knowledge_texts(
        grounded, kg, config, tokenizer=tokenizer, question_concepts=concepts, budgets=budgets,
        show_progress=show_progress, queries=queries,
    )
    if config.control == "shuffled":
        texts = shuffle_knowledge(texts, config.seed)
    return texts
