"""What ingest tells the journeys worker: whose stored data may have changed.

Published after the batch's transaction has committed, so the journeys worker, which reads
each customer from PostgreSQL when it evaluates them, sees the change. A change names the
customer (by id, or by email for a customer record: upserts go by email) and, for an order,
the order. It is only a prompt to look again: the worker reads the truth, so a change
announced twice, late, or out of order enters nobody twice; one lost to a crash between the
commit and this publication is announced again when the record is replayed.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any

from minicrm import sizing, topics
from minicrm.records import CustomerChanges
from minicrm.streams.app import app, settings

changes_topic = app.topic_of(topics.CHANGES)


async def announce(changes: list[dict[str, Any]]) -> None:
    """Publishes `changes` (`records.CustomerChanges` items), grouped by the partition each
    customer hashes to, so one worker sees a customer's changes in order."""
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        who = change.get("customer_id") or change["email"]
        groups[zlib.crc32(who.encode()) % settings.partitions].append(change)
    for partition, group in groups.items():
        for _, value in sizing.fit(group, lambda part: CustomerChanges.encode(changes=part), settings.max_record_bytes):
            await changes_topic.send(value=value, partition=partition)


def of_orders(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": o["customer_id"],
            "order_id": o["id"],
            "order_status": o["status"],
            "accepted_at": o.get("accepted_at"),
        }
        for o in orders
    ]


def of_customers(customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"email": c["email"]} for c in customers]
