import pytest

from minicrm.settings import Settings, SettingsError, load_settings


def test_every_field_reads_its_variable(monkeypatch):
    monkeypatch.setenv("MINICRM_PARTITIONS", "8")
    monkeypatch.setenv("MINICRM_OPEN_MODE", "yes")
    monkeypatch.setenv("MINICRM_WEBHOOK_SECRETS", "whsec_a, whsec_b")
    monkeypatch.setenv("MINICRM_AI_TIMEOUT", "2.5")
    settings = load_settings()
    assert (settings.partitions, settings.open_mode, settings.webhook_secrets, settings.ai_timeout) == (
        8,
        True,
        ("whsec_a", "whsec_b"),
        2.5,
    )
    assert settings.web_port == Settings().web_port


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("MINICRM_PARTITIONS", "four", "MINICRM_PARTITIONS must be a number"),
        ("MINICRM_OPEN_MODE", "maybe", "must be true or false"),
        ("MINICRM_WORKER_ROLES", "ingest,billing", "unknown roles"),
        ("MINICRM_SESSION_SECRET", "short", "at least 32"),
        ("MINICRM_WORKER_ROLES", "live,receipts", "of its own"),
        ("MINICRM_FREQUENCY_CAP", "3 a week", "MINICRM_FREQUENCY_CAP: expected messages/period"),
        ("MINICRM_FREQUENCY_CAP", "0/7d", "MINICRM_FREQUENCY_CAP"),
        ("MINICRM_WORKER_STOP_GRACE", "0", "MINICRM_WORKER_STOP_GRACE must be over 0"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words):
        load_settings()


def test_the_frequency_cap_reads_as_messages_per_period(monkeypatch):
    from minicrm.exclusions import FrequencyCap

    monkeypatch.setenv("MINICRM_FREQUENCY_CAP", " 3 / 7d ")
    assert load_settings().cap == FrequencyCap(3, 7 * 86400)
    monkeypatch.setenv("MINICRM_FREQUENCY_CAP", "off")
    assert load_settings().cap is None
    assert Settings().cap is None
