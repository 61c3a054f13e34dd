"""Kafka over TLS and SASL, as managed clusters ask for it, on a broker of the test's own (one
listener per protocol, a throw-away CA): every protocol and mechanism the settings offer carries
records both ways through `minicrm.kafka_clients`, wrong credentials and a broker signed by
another CA are refused, and a campaign runs through the whole pipeline over SASL_SSL."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError
from test_campaigns import add_customers, assert_exact, finished, start_campaign

from minicrm import kafka_clients
from minicrm.settings import Settings
from support import secure_kafka
from support.deployment import deployment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    started = secure_kafka.start(tmp_path_factory.mktemp("secure-kafka"))
    yield started
    started.stop()


def settings_for(broker, protocol: str, mechanism: str = "SCRAM-SHA-512", **fields) -> Settings:
    values = {
        "kafka_bootstrap": broker.bootstrap(protocol),
        "kafka_security_protocol": protocol,
        "kafka_sasl_mechanism": mechanism,
        "kafka_username": secure_kafka.USER,
        "kafka_password": secure_kafka.PASSWORD,
        "kafka_ca_file": str(broker.ca_file),
    }
    return Settings(**{**values, **fields})


async def round_trip(settings: Settings) -> bytes:
    """A topic created, a record produced (acks=all) and read back, each client built by kafka_clients."""
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**kafka_clients.producer_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello " + settings.kafka_security_protocol.encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**kafka_clients.client_options(settings), auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        return (await consumer.getone()).value
    finally:
        await consumer.stop()


@pytest.mark.parametrize(
    "protocol, mechanism",
    [
        ("PLAINTEXT", "PLAIN"),
        ("SSL", "PLAIN"),
        ("SASL_PLAINTEXT", "PLAIN"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
        ("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL_SSL", "SCRAM-SHA-512"),
    ],
)
async def test_every_protocol_carries_records(broker, protocol, mechanism):
    assert await round_trip(settings_for(broker, protocol, mechanism)) == f"hello {protocol}".encode()


@pytest.mark.parametrize(
    "fields",
    [
        {"kafka_password": "not-the-password"},
        {"kafka_username": "somebody-else"},
        {"kafka_sasl_mechanism": "PLAIN", "kafka_password": "x"},
    ],
)
async def test_wrong_credentials_are_refused(broker, fields, caplog):
    producer = AIOKafkaProducer(**kafka_clients.producer_options(settings_for(broker, "SASL_SSL", **fields)))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "Authentication failed" in caplog.text


async def test_a_broker_signed_by_another_ca_is_refused(broker, caplog):
    settings = settings_for(broker, "SASL_SSL", kafka_ca_file=str(broker.other_ca_file))
    producer = AIOKafkaProducer(**kafka_clients.producer_options(settings))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


async def test_a_campaign_runs_through_sasl_ssl(stack, broker, tmp_path):
    """The edge, the worker and the live worker (its tables' changelogs too), the topics' creation
    and the harness, all on the SASL_SSL listener alone."""
    settings = settings_for(broker, "SASL_SSL", "SCRAM-SHA-256")
    env = {
        "MINICRM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MINICRM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "MINICRM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "MINICRM_KAFKA_USERNAME": secure_kafka.USER,
        "MINICRM_KAFKA_PASSWORD": secure_kafka.PASSWORD,
        "MINICRM_KAFKA_CA_FILE": str(broker.ca_file),
    }
    async with deployment(tmp_path, **env) as pipeline:
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as http:
            city = await add_customers(pipeline, http, 300)
            c = await finished(http, await start_campaign(http, city))
        await assert_exact(pipeline, c, 300)
