"""How every Kafka client connects, in one place: the bootstrap servers and the security
settings (TLS, SASL) as aiokafka's producers, consumers and admin clients take them, and as
Faust takes them; producers wait for every in-sync replica (`acks=all`). The edge, the
workers and the tooling (topic creation, dead-letter replays, the test harness, bin/chaos)
all build their clients from here, so a cluster that needs TLS and SASL needs only the
settings."""

from __future__ import annotations

import ssl
from typing import Any

import faust

from minicrm.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL: brokers verified against the CA file (or the
    system's CAs), host name included; None for the plaintext protocols."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    return ssl.create_default_context(cafile=settings.kafka_ca_file or None)


def _sasl(settings: Settings) -> bool:
    return settings.kafka_security_protocol.startswith("SASL_")


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of any aiokafka client: where the brokers are and how to reach them."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if _sasl(settings):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password,
        )
    return options


def producer_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """An aiokafka producer's: idempotent, so `acks=all` (a send is answered once every in-sync
    replica has it, at least `min.insync.replicas`) and no duplicates from its own retries; and
    room for the largest record the pipeline writes."""
    return {
        **client_options(settings),
        "enable_idempotence": True,
        "acks": "all",
        "max_request_size": 2 * settings.max_record_bytes,
        **overrides,
    }


def faust_broker(settings: Settings) -> str:
    """Faust's broker URL: `kafka://` and the bootstrap servers, separated by `;`."""
    servers = [server.strip() for server in settings.kafka_bootstrap.split(",") if server.strip()]
    return "kafka://" + ";".join(servers)


def faust_credentials(settings: Settings) -> faust.auth.Credentials | None:
    """Faust's `broker_credentials` for the same protocol (its consumers, producer and topic
    creation all use them)."""
    context = ssl_context(settings)
    if _sasl(settings):
        return faust.SASLCredentials(
            username=settings.kafka_username,
            password=settings.kafka_password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
