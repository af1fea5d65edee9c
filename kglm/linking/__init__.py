"""kglm.linking: link text to knowledge-graph entities.

``Mention`` is one linked character span; ``LexiconLinker`` links through an
n-gram hash index of lemmatized KG labels; ``Lemmatizer`` gives the lemmas
(spaCy model, spaCy lookup tables, or a model-free rule mode). Importing
``kglm.linking.spacy_component`` registers the ``"kglm_linker"`` spaCy factory.
"""

from kglm.linking.lemmatizer import Lemmatizer, Tokens, get_lemmatizer, rule_lemma
from kglm.linking.lexicon import ENGLISH_STOPWORDS, QAGNN_BLACKLIST, LexiconLinker
from kglm.linking.mention import EntityLinker, Mention

__all__ = [
    "ENGLISH_STOPWORDS",
    "EntityLinker",
    "Lemmatizer",
    "LexiconLinker",
    "Mention",
    "QAGNN_BLACKLIST",
    "Tokens",
    "get_lemmatizer",
    "rule_lemma",
]
