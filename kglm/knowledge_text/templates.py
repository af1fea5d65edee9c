"""Per-relation sentence templates: ``(ice cream, AtLocation, freezer)`` -> "ice cream is found in a freezer".

A template is a string with the slots ``{head}`` and ``{tail}``; ``{head_a}`` /
``{tail_a}`` insert the phrase with an indefinite article when it looks like a
bare singular noun phrase (see :func:`with_article`). Templates are looked up
by the *normalised* relation name (:func:`relation_key`): the tail of an IRI
(``/r/AtLocation``, ``http://...#subClassOf``), without a source prefix
(``cn:AtLocation``, ``wn:hypernym``), lower case, letters and digits only; so
``AtLocation``, ``atlocation``, ``/r/AtLocation`` and ``cn:AtLocation`` share
one template, as do ``member_holonym`` and ``member holonym``.

Inverse relations (``isa_inv`` from :meth:`KnowledgeGraph.add_inverse_relations
<kglm.kg.graph.KnowledgeGraph.add_inverse_relations>`, ``inverse_isa``,
``isa^-1``) use the template of the base relation with head and tail swapped.
A relation without a template falls back to "head <relation words> tail"
(``HasColour`` -> "has colour").

Example:
    >>> verbalize("ice cream", "AtLocation", "freezer")
    'ice cream is found in a freezer'
    >>> verbalize("dog", "wn:hypernym", "canine")
    'dog is a kind of canine'
    >>> verbalize("animal", "isa_inv", "cat")
    'cat is an animal'
    >>> verbalize("sky", "HasColour", "blue")
    'sky has colour blue'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kglm.errors import ConfigError

__all__ = [
    "CONCEPTNET_TEMPLATES",
    "WORDNET_TEMPLATES",
    "RDF_TEMPLATES",
    "DEFAULT_TEMPLATES",
    "relation_key",
    "relation_words",
    "split_inverse",
    "template_for",
    "verbalize",
    "with_article",
    "check_templates",
]

#: ConceptNet 5 relations (every ConceptNet-100K relation, the 17 merged MHGRN
#: relations and the other ConceptNet 5 English relations), by normalised name.
CONCEPTNET_TEMPLATES: dict[str, str] = {
    "antonym": "{head} is the opposite of {tail}",
    "atlocation": "{head} is found in {tail_a}",
    "capableof": "{head} can {tail}",
    "causes": "{head} causes {tail}",
    "causesdesire": "{head} makes people want {tail}",
    "createdby": "{head} is created by {tail}",
    "definedas": "{head} is defined as {tail}",
    "derivedfrom": "{head} is derived from {tail}",
    "desireof": "{head} wants {tail}",
    "desires": "{head} wants {tail}",
    "distinctfrom": "{head} is distinct from {tail}",
    "entails": "{head} entails {tail}",
    "etymologicallyderivedfrom": "{head} is etymologically derived from {tail}",
    "etymologicallyrelatedto": "{head} is etymologically related to {tail}",
    "formof": "{head} is a form of {tail}",
    "hasa": "{head} has {tail}",
    "hascontext": "{head} is used in the context of {tail}",
    "hasfirstsubevent": "{head} starts with {tail}",
    "haslastsubevent": "{head} ends with {tail}",
    "haspaincharacter": "{head} has the pain character {tail}",
    "haspainintensity": "{head} has the pain intensity {tail}",
    "hasprerequisite": "{head} requires {tail}",
    "hasproperty": "{head} is {tail}",
    "hassubevent": "{head} involves {tail}",
    "inheritsfrom": "{head} inherits from {tail}",
    "instanceof": "{head} is an instance of {tail}",
    "isa": "{head} is {tail_a}",
    "locatednear": "{head} is located near {tail}",
    "locationofaction": "{head} is done at {tail_a}",
    "madeof": "{head} is made of {tail}",
    "mannerof": "{head} is a way of {tail}",
    "motivatedbygoal": "{head} is motivated by {tail}",
    "notcapableof": "{head} cannot {tail}",
    "notdesires": "{head} does not want {tail}",
    "nothasa": "{head} does not have {tail}",
    "nothasproperty": "{head} is not {tail}",
    "notisa": "{head} is not {tail_a}",
    "notmadeof": "{head} is not made of {tail}",
    "notusedfor": "{head} is not used for {tail}",
    "obstructedby": "{head} is obstructed by {tail}",
    "partof": "{head} is part of {tail_a}",
    "receivesaction": "{head} can be {tail}",
    "relatedto": "{head} is related to {tail}",
    "similarto": "{head} is similar to {tail}",
    "symbolof": "{head} is a symbol of {tail}",
    "synonym": "{head} means the same as {tail}",
    "usedfor": "{head} is used for {tail}",
}

#: WordNet 3.0 pointer relations (``wninput(5WN)``), by normalised name; several
#: spellings of each (``hypernym``, ``instance_hypernym``, ``member_holonym``,
#: ``domain_topic`` / ``member_of_domain_topic``, ...).
WORDNET_TEMPLATES: dict[str, str] = {
    "hypernym": "{head} is a kind of {tail}",
    "instancehypernym": "{head} is an instance of {tail}",
    "instance": "{head} is an instance of {tail}",
    "hyponym": "{tail} is a kind of {head}",
    "instancehyponym": "{tail} is an instance of {head}",
    "hasinstance": "{tail} is an instance of {head}",
    "memberholonym": "{head} is a member of {tail}",
    "partholonym": "{head} is part of {tail}",
    "substanceholonym": "{head} is a substance of {tail}",
    "membermeronym": "{head} has the member {tail}",
    "partmeronym": "{head} has the part {tail}",
    "substancemeronym": "{head} contains the substance {tail}",
    "similar": "{head} is similar to {tail}",
    "attribute": "{head} is an attribute related to {tail}",
    "entailment": "{head} entails {tail}",
    "cause": "{head} causes {tail}",
    "alsosee": "{head} is related to {tail}",
    "seealso": "{head} is related to {tail}",
    "verbgroup": "{head} is similar in meaning to {tail}",
    "participle": "{head} is the participle of {tail}",
    "participleofverb": "{head} is the participle of {tail}",
    "pertainym": "{head} pertains to {tail}",
    "pertainsto": "{head} pertains to {tail}",
    "derivation": "{head} is related in form to {tail}",
    "derivationallyrelatedform": "{head} is related in form to {tail}",
    "derivedfromadjective": "{head} is derived from {tail}",
    "domain": "{head} belongs to the domain of {tail}",
    "domaintopic": "{head} is a term of {tail}",
    "domainoftopic": "{head} is a term of {tail}",
    "domainofsynsettopic": "{head} is a term of {tail}",
    "topicdomain": "{head} is a term of {tail}",
    "domainregion": "{head} is used in {tail}",
    "domainofregion": "{head} is used in {tail}",
    "domainofsynsetregion": "{head} is used in {tail}",
    "regiondomain": "{head} is used in {tail}",
    "domainusage": "{head} is marked as {tail}",
    "domainofusage": "{head} is marked as {tail}",
    "domainofsynsetusage": "{head} is marked as {tail}",
    "usagedomain": "{head} is marked as {tail}",
    "domainmember": "{tail} belongs to the domain of {head}",
    "memberofdomain": "{tail} belongs to the domain of {head}",
    "domainmembertopic": "{tail} is a term of {head}",
    "memberofdomaintopic": "{tail} is a term of {head}",
    "topicmember": "{tail} is a term of {head}",
    "domainmemberregion": "{tail} is used in {head}",
    "memberofdomainregion": "{tail} is used in {head}",
    "regionmember": "{tail} is used in {head}",
    "domainmemberusage": "{tail} is marked as {head}",
    "memberofdomainusage": "{tail} is marked as {head}",
    "usagemember": "{tail} is marked as {head}",
}

#: Common RDF / OWL / SKOS predicates (by the local name of the IRI).
RDF_TEMPLATES: dict[str, str] = {
    "subclassof": "{head} is a kind of {tail}",
    "subpropertyof": "{head} is a kind of {tail}",
    "type": "{head} is {tail_a}",
    "sameas": "{head} is the same as {tail}",
    "equivalentclass": "{head} is the same as {tail}",
    "broader": "{head} is a kind of {tail}",
    "narrower": "{tail} is a kind of {head}",
    "related": "{head} is related to {tail}",
}

#: All built-in templates; user templates (:func:`template_for`'s ``overrides``) take precedence.
DEFAULT_TEMPLATES: dict[str, str] = {**RDF_TEMPLATES, **WORDNET_TEMPLATES, **CONCEPTNET_TEMPLATES}

_INVERSE_SUFFIXES = ("_inv", "_inverse", "-inv", "^-1", " inverse")
_INVERSE_PREFIXES = ("inverse_", "inv_", "inverse ")
_SLOT = re.compile(r"\{(\w+)\}")
_SLOTS = {"head", "tail", "head_a", "tail_a"}
_DETERMINERS = frozenset(
    "a an the some any your my his her their its our this that these those every each no one two "
    "many much more most several few all another".split()
)


def _local_name(name: str) -> str:
    """The last path / fragment / prefix component of a relation name."""
    for sep in ("#", "/"):
        if sep in name.rstrip(sep):
            name = name.rstrip(sep).rsplit(sep, 1)[-1]
    if ":" in name:
        name = name.rsplit(":", 1)[-1]
    return name


def split_inverse(name: str) -> tuple[str, bool]:
    """``("isa_inv")`` -> ``("isa", True)``; a relation without an inverse marker -> ``(name, False)``."""
    local = _local_name(name)
    lower = local.lower()
    for suffix in _INVERSE_SUFFIXES:
        if lower.endswith(suffix) and len(local) > len(suffix):
            return local[: -len(suffix)], True
    for prefix in _INVERSE_PREFIXES:
        if lower.startswith(prefix) and len(local) > len(prefix):
            return local[len(prefix) :], True
    return local, False


def relation_key(name: str) -> str:
    """The normalised lookup key of a relation name (see the module docstring).

    >>> relation_key("/r/AtLocation"), relation_key("cn:AtLocation"), relation_key("member_holonym")
    ('atlocation', 'atlocation', 'memberholonym')
    """
    return re.sub(r"[^0-9a-z]", "", _local_name(name).lower())


def relation_words(name: str) -> str:
    """Readable words of a relation name: ``"HasPainCharacter"`` -> ``"has pain character"``."""
    local = _local_name(name)
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local)
    return " ".join(re.sub(r"[^0-9A-Za-z]+", " ", spaced).lower().split()) or local


def with_article(phrase: str) -> str:
    """``phrase`` with "a"/"an" in front when it looks like a bare singular noun phrase.

    Left alone: phrases that start with a determiner or a number, of more than
    three words, or whose last word looks plural (ends in "s" but not "ss", "us", "is").

    >>> with_article("freezer"), with_article("apple tree"), with_article("the fridge"), with_article("books")
    ('a freezer', 'an apple tree', 'the fridge', 'books')
    """
    words = phrase.split()
    if not words or len(words) > 3:
        return phrase
    first, last = words[0].lower(), words[-1].lower()
    if first in _DETERMINERS or first[0].isdigit() or not first[0].isalpha():
        return phrase
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return phrase
    article = "an" if first[0] in "aeiou" else "a"
    return f"{article} {phrase}"


def check_templates(templates: Mapping[str, str]) -> dict[str, str]:
    """Validate user templates and key them by :func:`relation_key`.

    Raises:
        ConfigError: for a template that is not a string, lacks a head or tail
            slot, or uses an unknown slot (naming the relation).
    """
    out: dict[str, str] = {}
    for name, template in templates.items():
        if not isinstance(template, str):
            raise ConfigError(f"knowledge template for relation {name!r} must be a string, got {type(template).__name__}")
        slots = set(_SLOT.findall(template))
        unknown = slots - _SLOTS
        if unknown:
            raise ConfigError(
                f"knowledge template for relation {name!r} uses unknown slot(s) {sorted(unknown)}; "
                f"use {{head}}, {{tail}}, {{head_a}}, {{tail_a}}"
            )
        if not slots & {"head", "head_a"} or not slots & {"tail", "tail_a"}:
            raise ConfigError(f"knowledge template for relation {name!r} needs a {{head}} and a {{tail}} slot: {template!r}")
        out[relation_key(str(name))] = template
    return out


def template_for(relation: str, overrides: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The template of ``relation`` and whether head and tail must be swapped (inverse relations).

    ``overrides`` are already-normalised user templates (:func:`check_templates`);
    they are tried before the built-in ones, first for the full name, then for
    the base of an inverse relation.
    """
    tables = (overrides or {}, DEFAULT_TEMPLATES)
    key = relation_key(relation)
    for table in tables:
        if key in table:
            return table[key], False
    base, inverse = split_inverse(relation)
    if inverse:
        base_key = relation_key(base)
        for table in tables:
            if base_key in table:
                return table[base_key], True
        return "{head} " + relation_words(base) + " {tail}", True
    return "{head} " + relation_words(relation) + " {tail}", False


def verbalize(head: str, relation: str, tail: str, overrides: Mapping[str, str] | None = None) -> str:
    """One sentence for the triple ``(head, relation, tail)`` (no final full stop).

    Args:
        head / tail: the entities' display names.
        relation: the relation name as in the KG.
        overrides: user templates keyed by :func:`relation_key` (see :func:`check_templates`).
    """
    template, swap = template_for(relation, overrides)
    if swap:
        head, tail = tail, head
    values = {"head": head, "tail": tail}
    return _SLOT.sub(
        lambda m: with_article(values[m.group(1)[:-2]]) if m.group(1).endswith("_a") else values[m.group(1)],
        template,
    )
