"""Source definitions: one file per prefecture or site family (see README)."""
