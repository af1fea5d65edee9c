"""Relation templates: coverage of ConceptNet(-100K) and WordNet, normalisation, inverses, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from kglm.errors import ConfigError
from kglm.kg.conceptnet import MERGE_TABLE, MERGED_RELATIONS
from kglm.knowledge_text.templates import (
    CONCEPTNET_TEMPLATES,
    DEFAULT_TEMPLATES,
    check_templates,
    relation_key,
    split_inverse,
    template_for,
    verbalize,
    with_article,
)

#: The 34 relations of ConceptNet-100K's train.txt (CamelCase, as in the file).
CN100K_RELATIONS = (
    "IsA AtLocation UsedFor CapableOf HasProperty HasSubevent HasPrerequisite Causes HasA ReceivesAction "
    "MotivatedByGoal DefinedAs Desires PartOf NotDesires NotCapableOf CausesDesire HasFirstSubevent "
    "HasLastSubevent MadeOf NotHasProperty SymbolOf NotIsA CreatedBy NotHasA RelatedTo InstanceOf "
    "InheritsFrom DesireOf NotMadeOf LocationOfAction LocatedNear HasPainIntensity HasPainCharacter"
).split()

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "conceptnet" / "cn100k"


@pytest.mark.parametrize("name", CN100K_RELATIONS + list(MERGED_RELATIONS) + sorted(MERGE_TABLE))
def test_every_conceptnet_relation_has_its_own_template(name):
    assert relation_key(name) in CONCEPTNET_TEMPLATES, name
    for spelling in (name, name.lower(), f"/r/{name}", f"cn:{name}"):
        template, swapped = template_for(spelling)
        assert template == CONCEPTNET_TEMPLATES[relation_key(name)] and not swapped


def test_conceptnet_100k_files_relations_have_templates():
    if not SHARED.is_dir():
        pytest.skip("../shared/data/conceptnet/cn100k not present")
    names = {line.strip() for line in (SHARED / "rel.txt").read_text().splitlines() if line.strip()}
    with open(SHARED / "train.txt", encoding="utf-8") as handle:
        names |= {line.split("\t", 1)[0] for line in handle}
    assert len(names) >= 34
    assert sorted(n for n in names if relation_key(n) not in DEFAULT_TEMPLATES) == []


def test_every_wordnet_pointer_relation_has_a_template():
    wordnet = pytest.importorskip("kglm.kg.wordnet")
    names = set(wordnet.POINTER_NAMES.values())
    assert {"hypernym", "instance_hypernym", "part_holonym", "antonym", "entailment", "derivation"} <= names
    assert sorted(n for n in names if relation_key(n) not in DEFAULT_TEMPLATES) == []


def test_verbalisation_examples():
    assert verbalize("ice cream", "AtLocation", "freezer") == "ice cream is found in a freezer"
    assert verbalize("ice cream", "cn:AtLocation", "the freezer") == "ice cream is found in the freezer"
    assert verbalize("dog", "wn:hypernym", "canine") == "dog is a kind of canine"
    assert verbalize("dog", "hyponym", "puppy") == "puppy is a kind of dog"
    assert verbalize("wheel", "wn:part_holonym", "car") == "wheel is part of car"
    assert verbalize("hot", "wn:antonym", "cold") == "hot is the opposite of cold"
    assert verbalize("snore", "entailment", "sleep") == "snore entails sleep"
    assert verbalize("cat", "http://www.w3.org/2000/01/rdf-schema#subClassOf", "feline") == "cat is a kind of feline"
    assert verbalize("bird", "CapableOf", "fly") == "bird can fly"


def test_inverse_relations_swap_head_and_tail():
    assert split_inverse("isa_inv") == ("isa", True)
    assert split_inverse("wn:hypernym^-1") == ("hypernym", True)
    assert split_inverse("AtLocation") == ("AtLocation", False)
    assert verbalize("animal", "isa_inv", "cat") == "cat is an animal"
    assert verbalize("freezer", "inverse_AtLocation", "ice cream") == "ice cream is found in a freezer"


def test_generic_fallback_uses_relation_words():
    assert template_for("HasColour") == ("{head} has colour {tail}", False)
    assert verbalize("sky", "ex:has_colour", "blue") == "sky has colour blue"
    assert verbalize("blue", "HasColour_inv", "sky") == "sky has colour blue"


def test_articles():
    assert with_article("apple") == "an apple"
    assert with_article("apple trees") == "apple trees"
    assert with_article("my house") == "my house"
    assert with_article("glass") == "a glass"
    assert with_article("a very long noun phrase here") == "a very long noun phrase here"


def test_user_templates_override_and_are_checked():
    overrides = check_templates({"cn:AtLocation": "you find {head} in {tail}"})
    assert verbalize("milk", "AtLocation", "fridge", overrides) == "you find milk in fridge"
    assert verbalize("milk", "AtLocation_inv", "fridge", overrides) == "you find fridge in milk"
    with pytest.raises(ConfigError, match="AtLocation.*needs a \\{head\\} and a \\{tail\\}"):
        check_templates({"AtLocation": "{head} somewhere"})
    with pytest.raises(ConfigError, match="unknown slot"):
        check_templates({"AtLocation": "{head} in {place}"})
