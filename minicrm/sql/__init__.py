"""Numbered migrations and the named queries, plain SQL with $n bind parameters."""
