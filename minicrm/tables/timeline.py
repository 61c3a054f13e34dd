"""Delivery outcomes per campaign and partition in one-second tumbling windows."""

from __future__ import annotations

from datetime import timedelta

from minicrm.streams.app import app, settings

WINDOW_SECONDS = 1.0

# key: "<campaign id>/<partition>", value: [sent, failed] in the window.
outcomes = app.Table(
    "delivery-outcomes",
    default=lambda: [0, 0],
    partitions=settings.partitions,
).tumbling(WINDOW_SECONDS, expires=timedelta(hours=1))
