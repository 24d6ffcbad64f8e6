"""`pipeline-guard serve` as a real process on 127.0.0.1: signatures, replays, bad input, load.

Stand-ins:
- the receiver is `python -m guard.cli serve --port 0` (its own process, started once per module);
- GitHub's API is a replay served on loopback by this test process (benchmarks/serve_load.py):
  each scenario's bodies carry only the fields GitHub's REST description gives them, with our
  SHAs; `test_the_answer_satisfies_githubs_contract` runs the receiver against Prism instead,
  which validates every request it sends (the callback body included);
- the `deployment_protection_rule` payload is hand-written (GitHub publishes no example) on the
  real `deployment` example of @octokit/webhooks-examples, and validated here against
  @octokit/webhooks-schemas (`deployment_protection_rule$requested`).
"""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cliutil import cli
from conftest import node_modules

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from serve_load import (
    REPO,
    SECRET,
    ReceiverProcess,
    ReplayAPI,
    deliver,
    deploy_state,
    load,
    protection_payload,
    run_route,
    sign,
    signed,
    start_receiver,
)

DEPLOYED, HEAD, AGENT = "0" * 40, "3" * 40, "a" * 40


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReplayAPI, ReceiverProcess]]:
    api = ReplayAPI()
    rx = start_receiver(api.url, tmp_path_factory.mktemp("serve") / "serve.log")
    yield api, rx
    rx.stop()
    api.close()


@pytest.fixture
def gh(stack: tuple[ReplayAPI, ReceiverProcess]) -> ReplayAPI:
    api = stack[0]
    api.routes.clear()
    api.seen.clear()
    return api


@pytest.fixture
def port(stack: tuple[ReplayAPI, ReceiverProcess]) -> int:
    return stack[1].port


def callbacks(api: ReplayAPI, run_id: int) -> list[Any]:
    return [s.body for s in api.posts() if s.path.endswith(f"/runs/{run_id}/deployment_protection_rule")]


def asked(gh: ReplayAPI, run_id: int, approved_on: str | None, actor: str = "alice") -> tuple[bytes, str]:
    """The deploy state, run `run_id` (triggered by `actor`), and its signed protection-rule delivery."""
    deploy_state(gh, deployed=DEPLOYED, head=HEAD, approved_on=approved_on)
    run_route(gh, run_id, actor=actor)
    return signed(protection_payload(gh.url, HEAD, run_id))


def schema_validator() -> Any:
    import jsonschema

    schema = json.loads((node_modules() / "@octokit/webhooks-schemas/schema.json").read_text())
    root = {
        "$ref": "#/definitions/deployment_protection_rule$requested",
        "definitions": schema["definitions"],
    }
    return jsonschema.Draft7Validator(root)


def test_the_hand_written_payload_satisfies_githubs_schema() -> None:
    payload = protection_payload("https://api.github.com", HEAD, 5)
    errors = [e.message for e in schema_validator().iter_errors(payload)]
    assert errors == []
    payload["sha"] = HEAD  # not a field of this event: the schema (additionalProperties) says so
    assert list(schema_validator().iter_errors(payload))


# ----------------------------------------------------------------------------- judged deliveries


def test_a_signed_delivery_is_judged_and_answered(gh: ReplayAPI, port: int) -> None:
    body, sig = asked(gh, 101, None)
    ans = deliver(port, body, delivery="one", signature=sig)
    assert ans.status == 200 and ans.body is not None
    assert ans.body["state"] == "rejected" and ans.body["posted"] is True and ans.body["replay"] is False
    (posted,) = callbacks(gh, 101)
    assert posted["environment_name"] == "production" and posted["state"] == "rejected"
    assert AGENT[:12] in posted["comment"] and "approves each pull request" in posted["comment"]
    read = [s.path.split("?")[0] for s in gh.seen if s.method == "GET"]
    assert (
        f"/repos/{REPO}/compare/{DEPLOYED}...{HEAD}" in read
        and f"/repos/{REPO}/commits/{AGENT}/pulls" in read
    )


def test_an_approval_on_the_merged_head_approves(gh: ReplayAPI, port: int) -> None:
    body, sig = asked(gh, 102, AGENT)
    ans = deliver(port, body, delivery="two", signature=sig)
    assert ans.body is not None and ans.body["state"] == "approved"
    assert [c["state"] for c in callbacks(gh, 102)] == ["approved"]


def test_an_agent_triggered_run_is_rejected(gh: ReplayAPI, port: int) -> None:
    body, sig = asked(gh, 103, AGENT, actor="Copilot")
    ans = deliver(port, body, delivery="three", signature=sig)
    assert ans.body is not None and ans.body["state"] == "rejected"
    assert "triggered by agent:copilot" in callbacks(gh, 103)[0]["comment"]


def test_a_replay_leaves_the_outcome_and_posts_nothing_new(gh: ReplayAPI, port: int) -> None:
    body, sig = asked(gh, 104, None)
    first = deliver(port, body, delivery="four", signature=sig)
    assert first.body is not None and first.body["state"] == "rejected"
    # The state changes (an approval arrives), then GitHub's delivery is replayed and redelivered.
    deploy_state(gh, deployed=DEPLOYED, head=HEAD, approved_on=AGENT)
    gh.seen.clear()
    again = deliver(port, body, delivery="four", signature=sig)
    redelivered = deliver(port, body, delivery="four-redelivery", signature=sig)
    for ans in (again, redelivered):
        assert ans.status == 200 and ans.body is not None
        assert ans.body["state"] == "rejected" and ans.body["replay"] is True
    assert gh.seen == []  # nothing read, nothing posted: the stored verdict answered
    # A new run of the workflow is a new question, judged from the current state.
    run_route(gh, 105)
    body, sig = signed(protection_payload(gh.url, HEAD, 105))
    assert deliver(port, body, delivery="five", signature=sig).body == {
        "state": "approved",
        "posted": True,
        "comment": "pipeline-guard: 4 commit(s) to production, 1 agent commit(s), each approved.",
        "replay": False,
    }


def test_a_verdict_whose_post_failed_is_posted_again_unchanged(gh: ReplayAPI, port: int) -> None:
    body, sig = asked(gh, 106, None)
    gh.route("POST", "/actions/runs/106/deployment_protection_rule", {"message": "Server Error"}, status=500)
    first = deliver(port, body, delivery="six", signature=sig)
    assert first.body is not None and first.body["posted"] is False and first.body["state"] == "rejected"
    run_route(gh, 106)  # GitHub answers again
    deploy_state(gh, deployed=DEPLOYED, head=HEAD, approved_on=AGENT)  # would now be approved
    again = deliver(port, body, delivery="six", signature=sig)
    assert again.body is not None and again.body["posted"] is True and again.body["state"] == "rejected"
    assert {c["state"] for c in callbacks(gh, 106)} == {"rejected"}


# ----------------------------------------------------------------------------- refused deliveries


def test_missing_or_bad_signatures_are_401_and_nothing_is_judged(gh: ReplayAPI, port: int) -> None:
    body, good = asked(gh, 107, None)
    other, _ = signed(protection_payload(gh.url, HEAD, 108))
    for sig in (
        None,
        "",
        sign("wrong-secret-wrong-secret", body),
        good.replace("sha256=", "sha1="),
        sign(SECRET, other),
    ):
        ans = deliver(port, body, delivery="bad", signature=sig)
        assert ans.status == 401, sig
    assert gh.seen == []
    # ...and the refused delivery claimed nothing: the real one is judged afterwards.
    assert deliver(port, body, delivery="bad", signature=good).body["replay"] is False  # type: ignore[index]


def test_malformed_json_is_400(gh: ReplayAPI, port: int) -> None:
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        ans = deliver(port, raw, delivery="m", signature=sign(SECRET, raw))
        assert ans.status == 400 and ans.body is not None and "error" in ans.body
    payload = protection_payload(gh.url, HEAD, 109)
    del payload["deployment"]
    body, sig = signed(payload)
    ans = deliver(port, body, delivery="m2", signature=sig)
    assert ans.status == 400 and "missing deployment.sha" in ans.body["error"]  # type: ignore[index]
    payload = protection_payload(gh.url, HEAD, 110)
    payload["deployment_callback_url"] = (
        "https://evil.example/repos/acme/widget/actions/runs/110/deployment_protection_rule"
    )
    body, sig = signed(payload)
    ans = deliver(port, body, delivery="m3", signature=sig)
    assert ans.status == 200 and ans.body is not None and ans.body["posted"] is False  # never sent elsewhere
    assert gh.seen and all("evil" not in s.path for s in gh.seen)


def test_other_events_are_ignored_and_health_answers(gh: ReplayAPI, port: int) -> None:
    body, sig = signed({"zen": "Keep it logically awesome.", "hook_id": 1})
    assert deliver(port, body, delivery="p", signature=sig, event="ping").status == 204
    payload = protection_payload(gh.url, HEAD, 111)
    body, sig = signed({**payload, "action": "completed"})
    assert deliver(port, body, delivery="p2", signature=sig).status == 204
    assert gh.seen == []
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/healthz")
    resp = c.getresponse()
    assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
    c.close()


def test_bounded_load_has_no_error(gh: ReplayAPI, port: int) -> None:
    deploy_state(gh, deployed=DEPLOYED, head=HEAD, approved_on=AGENT)
    for run_id in range(1000, 1200):
        run_route(gh, run_id)
    res = load(port, gh.url, HEAD, 200, concurrency=8, first_run=1000)
    assert res.errors == [] and len(res.latencies) == 200
    assert res.statuses.get(401) == 20 and res.statuses.get(200, 0) + res.statuses.get(202, 0) == 180
    assert len(callbacks_all(gh)) == 200 - 20 - 19  # replays post nothing
    print(f"serve: 200 deliveries, p50 {res.pct(0.5) * 1000:.0f} ms, p99 {res.pct(0.99) * 1000:.0f} ms")


def callbacks_all(api: ReplayAPI) -> list[Any]:
    return [s for s in api.posts() if s.path.endswith("/deployment_protection_rule")]


# ----------------------------------------------------------------------------- set-up and contract


def test_serve_refuses_to_start_without_a_secret_or_credentials() -> None:
    r = cli(["serve", "--port", "0"], env={"PIPELINE_GUARD_WEBHOOK_SECRET": ""})
    assert r.exit_code == 2 and "PIPELINE_GUARD_WEBHOOK_SECRET" in r.stderr
    r = cli(
        ["serve", "--port", "0"],
        env={
            "PIPELINE_GUARD_WEBHOOK_SECRET": SECRET,
            "PIPELINE_GUARD_GITHUB_TOKEN": "",
            "PIPELINE_GUARD_APP_ID": "",
        },
    )
    assert r.exit_code == 2 and "PIPELINE_GUARD_APP_ID" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.integration
def test_the_answer_satisfies_githubs_contract(tmp_path: Path) -> None:
    """Against Prism, as a GitHub App: installation token, reads and the callback all pass."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from standins.prism import prism

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "app.pem").write_bytes(pem)
    url = prism().url
    env = {
        "PIPELINE_GUARD_GITHUB_TOKEN": "",
        "PIPELINE_GUARD_APP_ID": "12345",
        "PIPELINE_GUARD_APP_PRIVATE_KEY_FILE": str(tmp_path / "app.pem"),
    }
    rx = start_receiver(url, tmp_path / "serve.log", env=env)
    try:
        # Prism's static examples: the last deployment is a84d88e..., the range one human commit.
        body, sig = signed(protection_payload(url, "6dcb09b5b57875f334f61aebed695e2e4193db5e", 7))
        ans = deliver(rx.port, body, delivery="prism", signature=sig)
    finally:
        rx.stop()
    assert ans.status == 200 and ans.body is not None, (tmp_path / "serve.log").read_text()
    assert ans.body["posted"] is True and ans.body["state"] == "approved", (
        tmp_path / "serve.log"
    ).read_text()


# ----------------------------------------------------------------------------- in-process units


def test_signature_check_is_exact() -> None:
    from guard.doors.github.serve import signature_ok

    body = b'{"a": 1}'
    good = sign(SECRET, body)
    assert signature_ok(SECRET.encode(), body, good)
    assert signature_ok(SECRET.encode(), body, f"  {good} ")  # surrounding whitespace only
    for bad in (None, "", good.upper(), good[:-1], good + "0", "sha256=é", sign(SECRET, body + b" ")):
        assert not signature_ok(SECRET.encode(), body, bad), bad


def test_memory_store_claims_once_expires_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.doors.github.serve as srv

    now = [1000.0]
    monkeypatch.setattr(srv.time, "monotonic", lambda: now[0])
    store = srv.MemoryStore(max_entries=2)
    assert store.claim("a", srv.Outcome("pending")) is None
    assert store.claim("a", srv.Outcome("pending")) == srv.Outcome("pending")  # a second claimer waits
    now[0] += srv.PENDING_SECONDS + 1  # the first judge died: the claim lapses
    assert store.claim("a", srv.Outcome("pending")) is None
    store.put("a", srv.Outcome("rejected", "why", True))
    now[0] += srv.PENDING_SECONDS + 1  # a verdict outlives a claim
    assert store.claim("a", srv.Outcome("pending")) == srv.Outcome("rejected", "why", True)
    store.claim("b", srv.Outcome("pending"))
    store.claim("c", srv.Outcome("pending"))  # over the bound: the oldest ("a") goes
    assert store.claim("a", srv.Outcome("pending")) is None
    assert srv.Outcome.from_json(srv.Outcome("approved", "ok", True, "d", 1.0).to_json()).state == "approved"
