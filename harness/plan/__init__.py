"""The plan: the runs to do (from a suite or a selection), their groups and shards."""
