"""What every worker exports for Prometheus: its metrics server and its consumer lag."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from minicrm import metrics
from minicrm.streams.app import app, settings

log = logging.getLogger(__name__)
LAG_INTERVAL = 5.0


@app.task
async def serve_metrics() -> None:
    if not settings.metrics_port:
        return
    try:
        start_http_server(settings.metrics_port, addr=settings.web_host)  # a daemon thread
    except OSError as exc:  # a port in use must not stop the worker's real work
        log.error("cannot serve metrics on port %d: %s", settings.metrics_port, exc)
        return
    log.info("metrics on http://%s:%d/metrics", settings.web_host, settings.metrics_port)


@app.timer(LAG_INTERVAL)
async def measure_lag() -> None:
    """Records past the last commit, per partition this worker holds (a gauge per partition)."""
    consumer = app.consumer
    metrics.CONSUMER_LAG.clear()  # partitions move between workers on a rebalance
    for tp in consumer.assignment():
        committed = consumer._committed_offset.get(tp)  # Faust keeps no public accessor for it
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - not fetched yet: no figure this time
            continue
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - (committed or 0)))
