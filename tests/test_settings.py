import pytest

from minicrm.settings import Settings, SettingsError, load_settings


def test_every_field_reads_its_variable(monkeypatch):
    monkeypatch.setenv("MINICRM_PARTITIONS", "8")
    monkeypatch.setenv("MINICRM_OPEN_MODE", "yes")
    monkeypatch.setenv("MINICRM_WEBHOOK_SECRETS", "whsec_a, whsec_b")
    monkeypatch.setenv("MINICRM_AI_TIMEOUT", "2.5")
    settings = load_settings()
    assert (settings.partitions, settings.open_mode, settings.webhook_secrets, settings.ai_timeout) == (
        8, True, ("whsec_a", "whsec_b"), 2.5)
    assert settings.web_port == Settings().web_port


@pytest.mark.parametrize("name, value, words", [
    ("MINICRM_PARTITIONS", "four", "MINICRM_PARTITIONS must be a number"),
    ("MINICRM_OPEN_MODE", "maybe", "must be true or false"),
    ("MINICRM_WORKER_ROLES", "ingest,billing", "unknown roles"),
    ("MINICRM_SESSION_SECRET", "short", "at least 32"),
])
def test_a_bad_value_names_its_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=words):
        load_settings()
