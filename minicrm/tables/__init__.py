"""Faust table declarations; agents import tables, never the reverse.

`live.py` holds the live view's windowed tables, run by the `live` worker role alone (an
app and consumer group of its own), so that no table recovery can hold back the hot path.
Counters that decide anything (completion, summaries) live in PostgreSQL, never in a table.
"""
