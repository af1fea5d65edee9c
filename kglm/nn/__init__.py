"""kglm.nn."""
