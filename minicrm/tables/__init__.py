"""Faust table declarations; agents import tables, never the reverse.

None are declared now. The delivery timeline was a tumbling windowed table here, but after
a worker was killed its changelog recovery left receipt partitions paused (receipts stopped
with records waiting, reproduced about one run in three); the one-second windows are now
written in the receipts' own PostgreSQL transaction, exact across crashes. Counters that
decide anything never lived in a table.
"""
