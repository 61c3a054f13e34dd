"""Faust table declarations only; agents import tables, never the reverse."""
