"""The one settings object: every field read from the environment once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from minicrm.exclusions import FrequencyCap, parse_cap


class SettingsError(Exception):
    """A setting is missing or malformed; the process stops with this message."""


def _parse(name: str, raw: str, kind: str) -> Any:
    """One environment value as the field's type; SettingsError names the variable."""
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if kind == "bool":
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://minicrm@127.0.0.1:5433/minicrm"
    """PostgreSQL DSN (MINICRM_DATABASE_URL). The local stack serves port 5433."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, host:port, comma-separated (MINICRM_KAFKA_BOOTSTRAP): on a cluster
    name several, so that a process starting while one broker is down still connects."""

    kafka_security_protocol: str = "PLAINTEXT"
    """How every Kafka client connects (MINICRM_KAFKA_SECURITY_PROTOCOL): PLAINTEXT, SSL (TLS),
    SASL_PLAINTEXT or SASL_SSL (SASL over TLS, what managed clusters ask for)."""

    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    """SASL mechanism with SASL_PLAINTEXT and SASL_SSL (MINICRM_KAFKA_SASL_MECHANISM): PLAIN,
    SCRAM-SHA-256 or SCRAM-SHA-512."""

    kafka_username: str = ""
    """SASL user name (MINICRM_KAFKA_USERNAME); required with SASL_PLAINTEXT and SASL_SSL."""

    kafka_password: str = field(default="", repr=False)
    """SASL password (MINICRM_KAFKA_PASSWORD); required with SASL_PLAINTEXT and SASL_SSL."""

    kafka_ca_file: str = ""
    """PEM file of the CA that signed the brokers' certificates, with SSL and SASL_SSL
    (MINICRM_KAFKA_CA_FILE); empty: the system's CAs (enough for most managed clusters). Broker
    certificates are always verified, host name included."""

    replication_factor: int = 1
    """Replicas of every topic the project creates, Faust's changelogs included
    (MINICRM_REPLICATION_FACTOR): 1 on the local broker, 3 on a cluster (`bin/stack` sets it)."""

    min_insync_replicas: int = 0
    """`min.insync.replicas` of those topics (MINICRM_MIN_INSYNC_REPLICAS): replicas that must
    have a record before a producer (all at `acks=all`) is answered. 0: one less than the
    replication factor, at least 1 (2 of 3), so one broker may be down and nothing acknowledged
    is lost with another."""

    topic_prefix: str = "minicrm"
    """Prefix of every topic name and of the Faust app id (MINICRM_TOPIC_PREFIX)."""

    partitions: int = 4
    """Partitions of each pipeline topic (MINICRM_PARTITIONS); the unit of scale-out."""

    worker_datadir: str = ".stack/faust"
    """Folder where Faust workers keep their local state (MINICRM_WORKER_DATADIR)."""

    web_host: str = "127.0.0.1"
    """Address the HTTP edge and the vendor simulator bind (MINICRM_WEB_HOST)."""

    web_port: int = 3000
    """Port of the HTTP edge (MINICRM_WEB_PORT); the original system used 3000."""

    max_body_bytes: int = 8 * 1024 * 1024
    """Largest request body the edge reads (MINICRM_MAX_BODY_BYTES); larger gives 413."""

    max_items: int = 10_000
    """Most items in one array body (MINICRM_MAX_ITEMS); more gives 413."""

    page_size: int = 100
    """Default page size of list endpoints (MINICRM_PAGE_SIZE)."""

    max_page_size: int = 1000
    """Largest page size a client may ask for (MINICRM_MAX_PAGE_SIZE)."""

    count_time_limit: float = 1.0
    """Seconds a segment's preview (and a campaign's create answer) may spend counting its
    customers exactly (MINICRM_COUNT_TIME_LIMIT); past it PostgreSQL's estimate is answered,
    flagged `audience_estimated` (the campaign's own audience is counted as it is written)."""

    exact_count_cap: int = 10_000
    """Lists count their matches exactly up to this many (MINICRM_EXACT_COUNT_CAP); past it
    `X-Total-Count` is PostgreSQL's estimate, flagged by `X-Total-Count-Estimated: true`."""

    unpaged_cap: int = 100_000
    """Most rows a list read without paging parameters returns (MINICRM_UNPAGED_CAP): every match
    up to this, streamed, as the original API answered; `X-Result-Capped` says when it cut."""

    worker_roles: tuple[str, ...] = ("ingest", "campaigns", "deliveries", "receipts", "summaries")
    """Agents this worker runs, comma-separated (MINICRM_WORKER_ROLES). `live` (the windowed tables
    of the live view) and `journeys` (live segments and journeys) each run in a worker of their own."""

    worker_instance: str = ""
    """This worker's own name in its consumer group (MINICRM_WORKER_INSTANCE), unique among the
    workers of a role: with one, membership is static (Kafka's `group.instance.id`), so a worker
    restarted under the same name takes its partitions back at once, without a rebalance, and one
    stopped for good keeps them until `worker_session_timeout` runs out. Empty: dynamic membership
    (a restarted worker waits for the group to rebalance, and the dead one's session to run out)."""

    worker_session_timeout: float = 6.0
    """Seconds a worker that stopped heartbeating keeps its partitions before the group moves them
    (MINICRM_WORKER_SESSION_TIMEOUT); 6 is the broker's least (`group.min.session.timeout.ms`)."""

    worker_stop_grace: float = 10.0
    """Seconds a worker told to stop (SIGTERM) gives the records it is processing to finish
    (MINICRM_WORKER_STOP_GRACE): a delivery batch waits for the vendor, during an outage for ever.
    Past it the worker exits as a killed one would: what it had not finished is not committed, and
    whoever takes the partition sends it again, call for call under the same keys."""

    metrics_port: int = 0
    """Port a worker serves its Prometheus metrics on (MINICRM_METRICS_PORT; also `minicrm worker
    --metrics-port`); 0: none. The web edge serves its own at `GET /metrics`."""

    batch_size: int = 1000
    """Records per batch on the hot path: SQL, Kafka and vendor calls (MINICRM_BATCH_SIZE)."""

    max_record_bytes: int = 900_000
    """Largest Kafka record value the pipeline writes (MINICRM_MAX_RECORD_BYTES); batches are
    split to fit. Producers allow twice this per request; the local broker takes 10 MiB."""

    customer_wait: float = 5.0
    """Seconds the edge waits for an order's customer posted moments before (still in flight on
    its own topic) before it answers 400 naming the unknown ids (MINICRM_CUSTOMER_WAIT)."""

    parked_order_ttl: float = 600.0
    """Seconds an order that reached the pipeline before its customer stays parked (re-driven
    every second, holding up nothing) before it is dead-lettered (MINICRM_PARKED_ORDER_TTL)."""

    frequency_cap: str = ""
    """At most this many messages per customer per period across campaigns, e.g. `3/7d` (units s,
    m, h, d) (MINICRM_FREQUENCY_CAP); customers over it are skipped at segmentation and counted.
    Test sends do not count. Empty: no cap."""

    receipt_timeout: float = 6 * 3600.0
    """Seconds a message may wait for its receipt after the vendor last took a call of its campaign
    (MINICRM_RECEIPT_TIMEOUT): past it, the campaign's pending messages end FAILED ("no receipt"),
    so a vendor that lost messages, or receipts refused, do not keep a campaign RUNNING for ever."""

    vendor_url: str = "http://127.0.0.1:3500/vendor"
    """Where deliveries are sent (MINICRM_VENDOR_URL); the original vendor's address."""

    vendor_timeout: float = 5.0
    """Seconds before a vendor call is abandoned and retried (MINICRM_VENDOR_TIMEOUT)."""

    vendor_rate: float = 200.0
    """Most vendor calls per second, all workers together (MINICRM_VENDOR_RATE): each worker takes
    its share, the share of the deliveries partitions it holds."""

    vendor_pause_after: int = 5
    """Consecutive failed vendor calls after which the campaign is PAUSED (MINICRM_VENDOR_PAUSE_AFTER)."""

    vendor_max_body_bytes: int = 0
    """Largest request body the vendor takes (MINICRM_VENDOR_MAX_BODY_BYTES); 0: unknown, learnt
    from its 413 answers and kept where every worker reads it (`sql.deliveries`)."""

    vendor_error_window: float = 30.0
    """Seconds over which the vendor's error rate is judged (MINICRM_VENDOR_ERROR_WINDOW)."""

    vendor_error_threshold: float = 0.5
    """Share of failed calls in that window (of 10 or more) that pauses a campaign whose call
    fails (MINICRM_VENDOR_ERROR_THRESHOLD)."""

    vendor_backoff_max: float = 5.0
    """Cap of the exponential retry backoff, seconds (MINICRM_VENDOR_BACKOFF_MAX)."""

    receipts_url: str = "http://127.0.0.1:3000/api/receipts"
    """Where the vendor simulator posts receipts (MINICRM_RECEIPTS_URL)."""

    vendor_port: int = 3500
    """Port of the vendor simulator (MINICRM_VENDOR_PORT)."""

    webhook_secrets: tuple[str, ...] = ("whsec_bWluaWNybS1sb2NhbC1kZXZlbG9wbWVudC1zZWNyZXQ=",)
    """Receipt signing secrets `whsec_<base64>`, comma-separated; the first signs, any verifies
    (MINICRM_WEBHOOK_SECRETS). The default is for the local stack only: set your own."""

    simulator_failure_rate: float = 0.1
    """Share of messages the vendor simulator reports FAILED (MINICRM_SIMULATOR_FAILURE_RATE)."""

    simulator_latency: float = 0.05
    """Seconds the simulator waits before reporting a batch (MINICRM_SIMULATOR_LATENCY)."""

    simulator_duplicate_rate: float = 0.0
    """Share of receipts the simulator sends twice (MINICRM_SIMULATOR_DUPLICATE_RATE)."""

    simulator_shuffle: bool = False
    """Whether the simulator sends receipts out of order (MINICRM_SIMULATOR_SHUFFLE)."""

    simulator_receipt_batch: int = 1000
    """Receipts per signed POST from the simulator (MINICRM_SIMULATOR_RECEIPT_BATCH)."""

    simulator_body_limit: int = 0
    """Largest body the simulator takes, bytes; larger gets 413 (MINICRM_SIMULATOR_BODY_LIMIT).
    0: no limit. The original vendor (Express's default JSON parser) took 100 kB."""

    simulator_profile: str = ""
    """`original`: behave as the original Node vendor (100 kB body limit, unsigned receipts)
    (MINICRM_SIMULATOR_PROFILE); empty: the settings above."""

    session_secret: str = ""
    """Key that signs session tokens (MINICRM_SESSION_SECRET). Empty: a random key per process, so
    sessions end when the edge restarts; set it when you run more than one edge."""

    session_ttl: int = 12 * 3600
    """Seconds a session token lasts (MINICRM_SESSION_TTL)."""

    google_client_id: str = ""
    """OAuth client id that Google ID tokens must be issued to (MINICRM_GOOGLE_CLIENT_ID); empty
    turns Google sign-in off."""

    google_certs_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    """Where Google publishes its token signing keys (MINICRM_GOOGLE_CERTS_URL)."""

    trusted_caller_secret: str = ""
    """Shared secret of the original frontend's server-side `{gId, name, email, avatar}` call, sent
    as `X-MiniCRM-Secret` (MINICRM_TRUSTED_CALLER_SECRET); empty refuses that call."""

    operator_emails: tuple[str, ...] = ()
    """Emails of the users who are operators, comma-separated (MINICRM_OPERATOR_EMAILS): each is
    made an operator when it signs in (Google or a login key) or is issued a key. For the first
    operator; `minicrm issue-key --role operator` does the same for one user. Other users are
    marketers (minicrm/roles.py)."""

    role_cache_seconds: float = 5.0
    """How long the edge keeps a user's role before reading it again (MINICRM_ROLE_CACHE_SECONDS):
    a role changed in the database holds within so many seconds, without signing in again."""

    auth_attempts_per_minute: float = 20
    """Sign-in attempts a client address may make per minute (MINICRM_AUTH_ATTEMPTS_PER_MINUTE)."""

    open_mode: bool = False
    """Unauthenticated mode for the original clients on a local machine (MINICRM_OPEN_MODE): no
    sessions, no receipt signatures. Never in production; the edge warns at start-up."""

    currency: str = "₹"
    """Currency symbol used in AI texts (MINICRM_CURRENCY)."""

    gemini_api_key: str = ""
    """Gemini API key (MINICRM_GEMINI_API_KEY); empty selects the local AI provider."""

    gemini_model: str = "gemini-2.5-flash-lite"
    """Gemini model name (MINICRM_GEMINI_MODEL)."""

    gemini_base_url: str = ""
    """Gemini API address (MINICRM_GEMINI_BASE_URL); empty means Google's. For proxies and tests."""

    ai_timeout: float = 8.0
    """Seconds before an AI call falls back to the local provider (MINICRM_AI_TIMEOUT)."""

    @property
    def min_insync(self) -> int:
        return self.min_insync_replicas or max(1, self.replication_factor - 1)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def is_operator_email(self, email: str | None) -> bool:
        """Whether MINICRM_OPERATOR_EMAILS names this email (case aside)."""
        return bool(email) and str(email).lower() in {e.lower() for e in self.operator_emails}

    @property
    def cap(self) -> FrequencyCap | None:
        return parse_cap(self.frequency_cap)


SOLO_ROLES = ("live", "journeys")  # each a worker, and a consumer group, of its own


def load_settings() -> Settings:
    """Reads MINICRM_<FIELD> for every field, once; raises SettingsError naming a bad variable."""
    values = {}
    for f in fields(Settings):
        name = f"MINICRM_{f.name.upper()}"
        if name in os.environ:
            values[f.name] = _parse(name, os.environ[name], str(f.type))
    settings = Settings(**values)
    unknown_roles = set(settings.worker_roles) - {*Settings.worker_roles, *SOLO_ROLES}
    if unknown_roles:
        raise SettingsError(f"MINICRM_WORKER_ROLES has unknown roles: {sorted(unknown_roles)}")
    for role in SOLO_ROLES:
        if role in settings.worker_roles and len(settings.worker_roles) > 1:
            raise SettingsError(f"MINICRM_WORKER_ROLES: `{role}` runs in a worker of its own")
    if not 0 < settings.worker_session_timeout <= 90:
        raise SettingsError("MINICRM_WORKER_SESSION_TIMEOUT must be over 0 and at most 90 s (Faust's request timeout)")
    if settings.worker_stop_grace <= 0:
        raise SettingsError("MINICRM_WORKER_STOP_GRACE must be over 0 seconds")
    if settings.receipt_timeout <= 0:
        raise SettingsError("MINICRM_RECEIPT_TIMEOUT must be over 0 seconds")
    if settings.partitions < 1 or settings.batch_size < 1:
        raise SettingsError("MINICRM_PARTITIONS and MINICRM_BATCH_SIZE must be at least 1")
    if not 1_000 <= settings.max_record_bytes <= 4 * 1024 * 1024:
        raise SettingsError("MINICRM_MAX_RECORD_BYTES must be between 1000 and 4 MiB (the broker takes 10 MiB)")
    if settings.simulator_profile not in ("", "original"):
        raise SettingsError("MINICRM_SIMULATOR_PROFILE must be empty or 'original'")
    try:
        _ = settings.cap  # parsed now, so that a bad value stops the start
    except ValueError as exc:
        raise SettingsError(f"MINICRM_FREQUENCY_CAP: {exc}") from None
    if settings.session_secret and len(settings.session_secret) < 32:
        raise SettingsError("MINICRM_SESSION_SECRET must be at least 32 characters")
    _check_kafka(settings)
    return settings


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _check_kafka(settings: Settings) -> None:
    if settings.kafka_security_protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(f"MINICRM_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}")
    if settings.kafka_security_protocol.startswith("SASL_"):
        if settings.kafka_sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"MINICRM_KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
        if not (settings.kafka_username and settings.kafka_password):
            raise SettingsError(
                f"{settings.kafka_security_protocol} needs MINICRM_KAFKA_USERNAME and MINICRM_KAFKA_PASSWORD"
            )
    if settings.kafka_ca_file and not os.path.isfile(settings.kafka_ca_file):
        raise SettingsError(f"MINICRM_KAFKA_CA_FILE: no such file {settings.kafka_ca_file!r}")
    if settings.replication_factor < 1 or not 0 <= settings.min_insync_replicas <= settings.replication_factor:
        raise SettingsError(
            "MINICRM_REPLICATION_FACTOR must be at least 1, and MINICRM_MIN_INSYNC_REPLICAS between 0 and it"
        )
