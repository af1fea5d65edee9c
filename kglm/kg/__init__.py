"""kglm.kg."""
