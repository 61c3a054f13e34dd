"""The served OpenAPI description against the running edge: schemathesis with every check and
phase finds nothing, a client generated from it works, and a fuzz test of the rule-tree endpoints:
no 5xx, and no response that breaks the description."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.deployment import ROOT, deployment

pytestmark = pytest.mark.integration
SEED = 20261203  # the seed issue 26 was checked with; docs/api.md has the run with three others
EXAMPLES = 5  # per operation and phase; the coverage phase's cases are fixed by the document


def schemathesis(url: str, token: str, seed: int = SEED) -> subprocess.CompletedProcess:
    """`st run` with every check and phase, as docs/api.md shows it, against `url`."""
    command = [
        *(str(ROOT / ".venv" / "bin" / "st"), "--config-file", "tests/support/schemathesis.toml", "run"),
        *(f"{url}/openapi.json", "-c", "all", "-H", f"Authorization: Bearer {token}"),
        *("--seed", str(seed), "--max-examples", str(EXAMPLES), "--generation-database", "none", "--no-color"),
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


async def test_schemathesis_finds_nothing_with_every_check_and_phase(tmp_path):
    # A deployment of its own: the fuzzer's lists and campaigns of every customer stay as cheap as
    # on a fresh stack, whatever the other tests stored; sign-in is fuzzed, not rate-limited.
    async with deployment(tmp_path, MINICRM_AUTH_ATTEMPTS_PER_MINUTE="100000") as fresh:
        operator = (await fresh.new_user(role="operator"))[1]  # every operation answers it, none only 403
        run = await asyncio.to_thread(schemathesis, fresh.url, operator)
    failures = run.stdout.find("=== FAILURES")
    report = (run.stdout[failures:][:8000] if failures >= 0 else "") + "\n...\n" + run.stdout[-2500:]
    assert run.returncode == 0, report
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in run.stdout, report
    assert "Warnings:" not in run.stdout, report  # none: no operation answered only 401/403, or only 404


def generated_client(url: str, where: Path) -> Any:
    """A Python client generated from the served document (`openapi-python-client`), imported."""
    with urllib.request.urlopen(f"{url}/openapi.json") as answer:
        (where / "openapi.json").write_bytes(answer.read())
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff
    generator = ROOT / ".venv" / "bin" / "openapi-python-client"
    command = [
        str(generator),
        "generate",
        "--path",
        "openapi.json",
        "--output-path",
        "minicrm_client",
        "--meta",
        "none",
    ]
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Warning" not in done.stdout, done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("minicrm_client")
    finally:
        sys.path.remove(str(where))


def test_a_generated_client_creates_reads_and_pauses_a_campaign(pipeline, user, tmp_path):
    client_package = generated_client(pipeline.url, tmp_path)
    models = importlib.import_module("minicrm_client.models")
    calls = SimpleNamespace(
        **{
            name: importlib.import_module(f"minicrm_client.api.default.{name}")
            for name in ("create_customers", "search_customers", "create_campaign", "get_campaigns", "pause_campaign")
        }
    )
    city = f"Client-{uuid.uuid4().hex[:6]}"
    with client_package.AuthenticatedClient(base_url=pipeline.url, token=user[1]) as client:
        people = [{"name": f"C {i}", "email": f"{city}.{i}@example.com", "city": city} for i in range(20)]
        body = [models.CustomerIn.from_dict(person) for person in people]
        assert calls.create_customers.sync_detailed(client=client, body=body).status_code == 202
        rule = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": city}]}
        wait(lambda: len(json.loads(calls.search_customers.sync_detailed(client=client, body=rule).content)) == 20)
        campaign = {"name": "Generated client", "ruleGroup": rule, "message": "Hi {{name}}", "ratePerSecond": 1}
        created = calls.create_campaign.sync(client=client, body=models.CampaignIn.from_dict(campaign))
        assert isinstance(created, models.CampaignCreated), created

        def read() -> dict:
            query = models.GetCampaignsBodyType0.from_dict({"campaignId": str(created.campaign_id)})
            answer = calls.get_campaigns.sync_detailed(client=client, body=query)
            assert answer.status_code == 200, answer.content
            return json.loads(answer.content)

        assert read()["name"] == "Generated client"
        wait(lambda: read()["status"] in ("SEGMENTING", "RUNNING"))  # started: it can be paused
        paused = calls.pause_campaign.sync(client=client, id=created.campaign_id)
        assert isinstance(paused, models.Campaign), paused
        assert paused.status == models.CampaignStatus.PAUSED
        assert read()["status"] == "PAUSED" and read()["paused_by"] == "user"


def wait(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.2)


def test_docs_page_lists_every_path(pipeline):
    with urllib.request.urlopen(f"{pipeline.url}/openapi.json") as answer:
        described = json.loads(answer.read())
    with urllib.request.urlopen(f"{pipeline.url}/docs") as answer:
        page = answer.read().decode()
    for path in described["paths"]:
        assert path in page


nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "'; DROP TABLE customers; --",
            "1 OR 1=1",
            "$1",
            "\x00",
            "😀" * 10,
            "NaN",
            "Infinity",
            "-0",
            "1e999",
            "9" * 400,
            "   ",
            "Mumbai' --",
        ]
    ),
)
nasty_value = st.one_of(
    nasty_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
rule = st.fixed_dictionaries(
    {
        "attribute": st.one_of(st.sampled_from(["total_spend", "visit", "city", "last_order_date", ""]), nasty_text),
        "operator": st.one_of(st.sampled_from([">", "<", "=", ">=", "<=", "!=", ""]), nasty_text),
        "value": nasty_value,
    }
)
tree = st.recursive(
    rule,
    lambda kids: st.fixed_dictionaries(
        {
            "combinator": st.one_of(st.sampled_from(["AND", "OR", "or"]), nasty_text),
            "rules": st.lists(kids, max_size=4),
        }
    ),
    max_leaves=30,
)
deep = st.integers(1, 40).map(
    lambda n: __import__("functools").reduce(
        lambda inner, _: {"combinator": "AND", "rules": [inner]},
        range(n),
        {"attribute": "visit", "operator": ">", "value": "1"},
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(tree, deep, nasty_value))
def test_rule_tree_fuzz_never_gives_5xx(pipeline, user, body):
    async def post_both():
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {user[1]}"}) as s:
            statuses = []
            for path, payload in (("/api/customers/get", body), ("/api/campaigns/get", {"ruleGroup": body})):
                async with s.post(path, json=payload) as r:
                    statuses.append(r.status)
                    if r.status >= 400:
                        assert set(await r.json()) == {"error", "detail"}
            return statuses

    statuses = asyncio.run(post_both())
    assert all(s in (200, 400) for s in statuses), statuses
