"""The "kglm_linker" spaCy component on a blank English pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

import kglm.linking.spacy_component  # noqa: F401  (registers the factory)
from kglm.kg.graph import KnowledgeGraph
from kglm.linking import Mention


@pytest.fixture(scope="module")
def kg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kg = KnowledgeGraph(
        ["fridge", "ice", "ice hockey", "hockey game", "new york", "bank (money)", "bank (river)"],
        ["RelatedTo"],
        [[0, 0, 1]],
        labels={0: ["fridge", "refrigerator"], 5: ["bank"], 6: ["bank"]},
    )
    path = tmp_path_factory.mktemp("kg") / "kg"
    kg.save(path)
    return path


def test_sets_ents_and_mentions(kg_dir: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("kglm_linker", config={"kg": str(kg_dir), "lemmatizer": "rule"})
    doc = nlp("Two fridges in New York")
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("fridges", "KG", "fridge"),
        ("New York", "KG", "new york"),
    ]
    assert doc._.kg_mentions == [
        Mention(4, 11, "fridges", 0, "fridge"),
        Mention(15, 23, "New York", 4, "new york"),
    ]


def test_overlapping_and_ambiguous(kg_dir: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "kglm_linker", config={"kg": str(kg_dir), "lemmatizer": "rule", "keep_overlapping": True}
    )
    doc = nlp("ice hockey games at the bank")
    assert [(m.text, m.entity) for m in doc._.kg_mentions] == [
        ("ice", "ice"),
        ("ice hockey", "ice hockey"),
        ("hockey games", "hockey game"),
        ("bank", "bank (money)"),
        ("bank", "bank (river)"),
    ]
    # doc.ents: non-overlapping, longest first; an ambiguous span takes the smallest id
    assert [(e.text, e.kb_id_) for e in doc.ents] == [
        ("ice hockey", "ice hockey"),
        ("bank", "bank (money)"),
    ]


def test_keeps_existing_ents_and_pipe(kg_dir: Path) -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "New York"}])
    nlp.add_pipe("kglm_linker", config={"kg": str(kg_dir), "lemmatizer": "rule"})
    docs = list(nlp.pipe(["a refrigerator in New York", "", "😀 ice!"]))
    assert [[(e.text, e.label_, e.kb_id_) for e in d.ents] for d in docs] == [
        [("refrigerator", "KG", "fridge"), ("New York", "GPE", "")],
        [],
        [("ice", "KG", "ice")],
    ]
    assert docs[1]._.kg_mentions == []


def test_without_a_kg_initialize_names_the_loader() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("kglm_linker")
    with pytest.raises(ValueError, match="kglm.LinkerLoader.v1"):
        nlp.initialize()
    with pytest.raises(ValueError, match="not initialized"):
        nlp("a fridge")


def test_initialize_loader_to_disk_and_spacy_load(kg_dir: Path, tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("kglm_linker", config={"overwrite_ents": False})
    nlp.config["initialize"]["components"]["kglm_linker"] = {
        "linker_loader": {"@misc": "kglm.LinkerLoader.v1", "kg": str(kg_dir), "lemmatizer": "rule"}
    }
    nlp.initialize()
    expected = [(e.text, e.kb_id_) for e in nlp("Two fridges in New York").ents]
    assert expected == [("fridges", "fridge"), ("New York", "new york")]
    assert nlp.get_pipe_meta("kglm_linker").assigns == ["doc.ents", "doc._.kg_mentions"]
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")  # neither the KG path nor the index is needed again
    assert [(e.text, e.kb_id_) for e in loaded("Two fridges in New York").ents] == expected


def test_links_the_docs_own_tokens_and_overwrite_ents(kg_dir: Path) -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "York"}])
    nlp.add_pipe("kglm_linker", config={"kg": str(kg_dir), "lemmatizer": "rule", "overwrite_ents": True})

    class NoSecondPipeline:
        mode = "rule"

        def __call__(self, text):  # the component must not re-tokenize doc.text
            raise AssertionError("re-tokenized doc.text")

        pipe = __call__

    nlp.get_pipe("kglm_linker").linker.lemmatizer = NoSecondPipeline()
    doc = nlp("fridges in New York")
    assert [(e.text, e.label_) for e in doc.ents] == [("fridges", "KG"), ("New York", "KG")]  # GPE "York" replaced
