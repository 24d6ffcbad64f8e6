"""Load run of `pipeline-guard serve` on loopback (not a timed test): latency of signed deliveries.

The receiver runs as its own process (`python -m guard.cli serve --port 0`), judging against a
replay of GitHub's API served by this process on 127.0.0.1 (every body shaped as GitHub's REST
description gives it; a deploy of 4 commits, one of them agent work approved on its merged PR).
This process sends the deliveries: real `deployment_protection_rule` payloads built on
@octokit/webhooks-examples' `deployment` example, HMAC-signed, from a bounded pool of threads.
A share of them are replays (same delivery id) and a share carry bad signatures (401 expected);
anything else that is not 200/202/401 is an error. Prints p50/p99/max and the error count.

    /tmp/pg/venv/bin/python benchmarks/serve_load.py [--deliveries 2000] [--concurrency 8]

tests/test_serve.py imports the helpers (replay API, receiver process, signed delivery).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "load-test-webhook-secret-0123456789"
REPO = "acme/widget"
EVENT = "deployment_protection_rule"
TRAILER = "Co-Authored-By: Claude <noreply@anthropic.com>"


def node_modules() -> Path:
    root = Path(os.environ.get("PG_NODE_MODULES", ROOT / ".ci/cache/node/node_modules"))
    if not (root / "@octokit/webhooks-examples").is_dir():
        raise SystemExit(f"@octokit/webhooks-examples missing under {root}: run `bash .ci/run`")
    return root


@lru_cache(maxsize=1)
def _deployment_example() -> dict[str, Any]:
    index = node_modules() / "@octokit/webhooks-examples/api.github.com/index.json"
    events = {e["name"]: e["examples"] for e in json.loads(index.read_text(encoding="utf-8"))}
    found: dict[str, Any] = next(e for e in events["deployment"] if e.get("action") == "created")
    return found


def protection_payload(
    api_url: str, sha: str, run_id: int, environment: str = "production"
) -> dict[str, Any]:
    """A `deployment_protection_rule` / `requested` payload (GitHub publishes no example of it):
    deployment, repository and sender are those of the real `deployment.created` example."""
    ex = copy.deepcopy(_deployment_example())
    ex["repository"].update(full_name=REPO, name=REPO.split("/")[1])
    # The example predates fields the schema now requires: GitHub's values for a plain repository.
    for key, value in (
        ("is_template", False),
        ("web_commit_signoff_required", False),
        ("topics", []),
        ("visibility", "public"),
        ("custom_properties", {}),
    ):
        ex["repository"].setdefault(key, value)
    ex["repository"]["owner"]["login"] = REPO.split("/")[0]
    ex["deployment"].update(sha=sha, environment=environment, id=9000 + run_id)
    return {
        "action": "requested",
        "environment": environment,
        "event": "push",
        "deployment_callback_url": f"{api_url}/repos/{REPO}/actions/runs/{run_id}/deployment_protection_rule",
        "deployment": ex["deployment"],
        "pull_requests": [],
        "repository": ex["repository"],
        "sender": ex["sender"],
        "installation": {"id": 4242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="},
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- GitHub's API, replayed


@dataclass
class Seen:
    method: str
    path: str
    body: Any


@dataclass
class ReplayAPI:
    """GitHub's REST API for one scenario on 127.0.0.1: (method, path) -> (status, JSON body)."""

    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        api = self

        class H(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                with lock:
                    api.seen.append(Seen(self.command, self.path, json.loads(raw) if raw else None))
                status, body = api.routes.get((self.command, path), (404, {"message": "Not Found"}))
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # the default 5 drops SYNs under load: 1 s retransmits

        lock = threading.Lock()
        self._server = Server(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def route(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.routes[(method, f"/repos/{REPO}{path}" if path.startswith("/") else path)] = (status, body)

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def user(login: str, uid: int, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": uid, "type": kind, "site_admin": False}


def commit_item(
    sha: str, parent: str, message: str, name: str = "Alice", email: str = "alice@example.com"
) -> dict[str, Any]:
    person = {"name": name, "email": email, "date": "2024-05-01T10:00:00Z"}
    return {
        "sha": sha,
        "commit": {
            "author": person,
            "committer": person,
            "message": message,
            "verification": {"verified": False, "reason": "unsigned", "signature": None},
        },
        "parents": [{"sha": parent}],
        "author": None,
    }


def deploy_state(api: ReplayAPI, *, deployed: str, head: str, approved_on: str | None) -> str:
    """A deploy of 4 commits since `deployed`: 3 human, 1 agent (PR 7, merged head = the agent
    commit). `approved_on`: the head bob's review names (None: no review). Returns the agent sha."""
    agent = "a" * 40
    shas = ["1" * 40, agent, "2" * 40, head]
    msgs = ["fix", f"agent work\n\n{TRAILER}", "merge", "release"]
    items = [commit_item(s, p, m) for s, p, m in zip(shas, [deployed, *shas[:-1]], msgs, strict=True)]
    api.route(
        "GET",
        "/deployments",
        [{"id": 1, "sha": deployed, "environment": "production", "creator": user("alice", 1)}],
    )
    api.route("GET", "/deployments/1/statuses", [{"id": 1, "state": "success"}])
    api.route(
        "GET", f"/compare/{deployed}...{head}", {"total_commits": len(items), "commits": items, "files": []}
    )
    pr = {
        "number": 7,
        "merged_at": "2024-05-01T10:00:00Z",
        "merge_commit_sha": "2" * 40,
        "head": {"sha": agent},
        "user": user("alice", 1),
        "state": "closed",
    }
    api.route("GET", f"/commits/{agent}/pulls", [pr])
    api.route("GET", "/pulls/7/commits", [{"sha": agent}])
    reviews = (
        []
        if approved_on is None
        else [
            {
                "id": 1,
                "user": user("bob", 2),
                "state": "APPROVED",
                "commit_id": approved_on,
                "submitted_at": "2024-05-01T09:00:00Z",
            }
        ]
    )
    api.route("GET", "/pulls/7/reviews", reviews)
    api.route("GET", "/issues/7/timeline", [])
    api.route(
        "GET",
        "/collaborators/bob/permission",
        {"permission": "write", "role_name": "write", "user": user("bob", 2)},
    )
    return agent  # each run's own routes: run_route


def run_route(api: ReplayAPI, run_id: int, actor: str = "alice") -> None:
    api.route(
        "GET",
        f"/actions/runs/{run_id}",
        {"id": run_id, "actor": user(actor, 1), "triggering_actor": user(actor, 1)},
    )
    api.route("POST", f"/actions/runs/{run_id}/deployment_protection_rule", None, status=204)


# ----------------------------------------------------------------------------- the receiver


@dataclass
class ReceiverProcess:
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_receiver(
    api_url: str, log: Path, *extra: str, env: dict[str, str] | None = None
) -> ReceiverProcess:
    """`pipeline-guard serve` on a free loopback port, as its own process; waits for it to listen."""
    full = {
        **os.environ,
        "PIPELINE_GUARD_WEBHOOK_SECRET": SECRET,
        "PIPELINE_GUARD_GITHUB_TOKEN": "ghs_test",
        "PIPELINE_GUARD_GITHUB_API_URL": api_url,
        **(env or {}),
    }
    fh = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "guard.cli", "serve", "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=fh,
        stderr=subprocess.STDOUT,
        env=full,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "listening on http://" in text:
            port = int(text.split("listening on http://", 1)[1].split()[0].rsplit(":", 1)[1])
            return ReceiverProcess(proc, "127.0.0.1", port, log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the receiver did not start:\n{log.read_text(errors='replace')[-2000:]}")


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    seconds: float


def deliver(
    port: int,
    body: bytes,
    *,
    delivery: str,
    signature: str | None,
    event: str = EVENT,
    conn: http.client.HTTPConnection | None = None,
) -> Answer:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    try:
        c.request("POST", "/", body=body, headers=headers)
        resp = c.getresponse()
        raw = resp.read()
    finally:
        if own:
            c.close()
    elapsed = time.perf_counter() - started
    return Answer(resp.status, json.loads(raw) if raw else None, elapsed)


def signed(payload: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, sign(SECRET, body)


# ----------------------------------------------------------------------------- load


@dataclass
class LoadResult:
    latencies: list[float]
    errors: list[str]
    statuses: dict[int, int]
    seconds: float

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def load(port: int, api_url: str, head: str, n: int, concurrency: int, first_run: int = 1) -> LoadResult:
    """n deliveries: 80% new runs, 10% replays of an earlier delivery, 10% bad signatures."""
    local = LoadResult([], [], {}, 0.0)
    jobs: list[Callable[[http.client.HTTPConnection], tuple[int, set[int]]]] = []
    for i in range(n):
        run_id = first_run + i
        kind = i % 10
        if kind == 8 and i >= 10:  # a replay of the run judged 8 deliveries earlier
            run_id = first_run + i - 8
        payload = protection_payload(api_url, head, run_id)
        body, sig = signed(payload)
        if kind == 9:
            sig = sign("not-the-secret", body)
        expect = {401} if kind == 9 else {200, 202}
        delivery = f"d-{run_id}"

        def job(
            c: http.client.HTTPConnection,
            body: bytes = body,
            sig: str = sig,
            delivery: str = delivery,
            expect: set[int] = expect,
        ) -> tuple[int, set[int]]:
            ans = deliver(port, body, delivery=delivery, signature=sig, conn=c)
            local.latencies.append(ans.seconds)
            return ans.status, expect

        jobs.append(job)
    lock = threading.Lock()
    per_thread = threading.local()

    def run_one(job: Callable[[http.client.HTTPConnection], tuple[int, set[int]]]) -> None:
        if not hasattr(per_thread, "conn"):
            per_thread.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            status, expect = job(per_thread.conn)
        except Exception as e:  # a dropped connection is an error, reported, not raised
            per_thread.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                local.errors.append(f"{type(e).__name__}: {e}")
            return
        with lock:
            local.statuses[status] = local.statuses.get(status, 0) + 1
            if status not in expect:
                local.errors.append(f"HTTP {status}, expected {sorted(expect)}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(run_one, jobs))
    local.seconds = time.perf_counter() - started
    return local


def prepare_api(n_runs: int, first_run: int = 1) -> tuple[ReplayAPI, str]:
    api = ReplayAPI()
    head = "3" * 40
    deploy_state(api, deployed="0" * 40, head=head, approved_on="a" * 40)
    for run_id in range(first_run, first_run + n_runs):
        run_route(api, run_id)
    return api, head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="fail when the run takes longer")
    args = ap.parse_args()
    n = max(1, min(args.deliveries, 20_000))  # bounded: loopback only, never an open-ended flood
    api, head = prepare_api(n)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"pg-serve-load-{os.getpid()}.log"
    rx = start_receiver(api.url, log, "--quiet")
    try:
        res = load(rx.port, api.url, head, n, args.concurrency)
    finally:
        rx.stop()
        api.close()
    posts = len([s for s in api.posts() if s.path.endswith("/deployment_protection_rule")])
    ms = [x * 1000 for x in res.latencies]
    print(f"deliveries {n}, concurrency {args.concurrency}, {res.seconds:.1f} s ({n / res.seconds:.0f}/s)")
    print(f"statuses {dict(sorted(res.statuses.items()))}; verdicts posted {posts}; errors {len(res.errors)}")
    print(f"latency ms: p50 {statistics.median(ms):.1f}  p99 {res.pct(0.99) * 1000:.1f}  max {max(ms):.1f}")
    for e in res.errors[:10]:
        print(f"  error: {e}")
    if res.errors or res.seconds > args.max_seconds:
        sys.exit(1)


if __name__ == "__main__":
    main()
