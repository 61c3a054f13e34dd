"""Faust agents, one module per pipeline stage, each declaring its topic(s) and agent(s)."""
