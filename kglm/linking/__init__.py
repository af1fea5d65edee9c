"""kglm.linking."""
