"""kglm.grounding."""
