"""How clients connect, per protocol; the real handshakes are in test_secure_kafka.py."""

import ssl

import faust
import pytest

from minicrm import kafka_clients, topics
from minicrm.settings import Settings, SettingsError, load_settings


def test_plaintext_is_the_bootstrap_alone():
    settings = Settings(kafka_bootstrap="a:9092,b:9094")
    assert kafka_clients.client_options(settings) == {
        "bootstrap_servers": "a:9092,b:9094",
        "security_protocol": "PLAINTEXT",
    }
    assert kafka_clients.faust_broker(settings) == "kafka://a:9092;b:9094"
    assert kafka_clients.faust_credentials(settings) is None


def test_producers_wait_for_every_in_sync_replica():
    options = kafka_clients.producer_options(Settings(max_record_bytes=5000), linger_ms=2)
    assert (options["acks"], options["enable_idempotence"], options["max_request_size"], options["linger_ms"]) == (
        "all",
        True,
        10_000,
        2,
    )


def test_sasl_ssl_carries_credentials_and_verifies_the_broker():
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_username="crm",
        kafka_password="s3cr3t-pw",
    )
    options = kafka_clients.client_options(settings)
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-256")
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("crm", "s3cr3t-pw")
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = kafka_clients.faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-256")
    assert "s3cr3t-pw" not in repr(settings)


def test_ssl_and_sasl_plaintext_as_faust_takes_them():
    assert isinstance(kafka_clients.faust_credentials(Settings(kafka_security_protocol="SSL")), faust.SSLCredentials)
    plain = kafka_clients.faust_credentials(
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="u", kafka_password="p")
    )
    assert isinstance(plain, faust.SASLCredentials)
    assert (plain.protocol.value, plain.ssl_context) == ("SASL_PLAINTEXT", None)
    assert "ssl_context" not in kafka_clients.client_options(Settings(kafka_security_protocol="SASL_PLAINTEXT"))


def test_min_insync_replicas_is_one_less_than_the_replicas_unless_set():
    assert topics.replica_configs(Settings()) == {"min.insync.replicas": "1"}
    assert topics.replica_configs(Settings(replication_factor=3)) == {"min.insync.replicas": "2"}
    assert topics.replica_configs(Settings(replication_factor=3, min_insync_replicas=3)) == {"min.insync.replicas": "3"}


@pytest.mark.parametrize(
    "env, words",
    [
        ({"MINICRM_KAFKA_SECURITY_PROTOCOL": "TLS"}, "MINICRM_KAFKA_SECURITY_PROTOCOL must be one of"),
        ({"MINICRM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs MINICRM_KAFKA_USERNAME and MINICRM_KAFKA_PASSWORD"),
        (
            {"MINICRM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MINICRM_KAFKA_SASL_MECHANISM": "GSSAPI"},
            "MINICRM_KAFKA_SASL_MECHANISM must be one of",
        ),
        ({"MINICRM_KAFKA_CA_FILE": "/nowhere/ca.pem"}, "MINICRM_KAFKA_CA_FILE: no such file"),
        ({"MINICRM_REPLICATION_FACTOR": "3", "MINICRM_MIN_INSYNC_REPLICAS": "4"}, "MINICRM_MIN_INSYNC_REPLICAS"),
    ],
)
def test_a_bad_kafka_setting_stops_the_start(monkeypatch, env, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words):
        load_settings()
