"""`pipeline-guard serve`: the webhook receiver of a GitHub App's custom deployment protection rule.

Stdlib `ThreadingHTTPServer`: one small endpoint needs no framework, and the receiver starts in one
command. It is stateless apart from the verdict store: every judgement reads GitHub's current
state (github_protection.py), so any number of replicas can run behind any load balancer.

Per delivery: the body is read (bounded), its `X-Hub-Signature-256` checked with a constant-time
compare before anything else (401, nothing judged), then parsed (400 on malformed JSON or
fields). Only `deployment_protection_rule` / `requested` is judged; other events get 204. The
verdict is stored under run+environment: a replayed or redelivered request gets the stored
outcome back and posts nothing new, so no contradictory verdict can follow. A verdict whose post
failed is posted again, unchanged, on the next delivery. `GET /healthz` answers 200.

Length: the HTTP server, its signature check, the App's token cache and the verdict store are
one deployment unit; each part is small and they share the request's life cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from guard.errors import InternalError, UsageError
from guard.isotime import unix_time
from guard.model import Mode
from guard.policy import Policy

if TYPE_CHECKING:
    from github import Github

    from guard.doors.github.protection import Request

SECRET_ENV = "PIPELINE_GUARD_WEBHOOK_SECRET"
TOKEN_ENV = "PIPELINE_GUARD_GITHUB_TOKEN"
APP_ID_ENV = "PIPELINE_GUARD_APP_ID"
APP_KEY_ENV = "PIPELINE_GUARD_APP_PRIVATE_KEY"
APP_KEY_FILE_ENV = "PIPELINE_GUARD_APP_PRIVATE_KEY_FILE"
API_URL_ENV = "PIPELINE_GUARD_GITHUB_API_URL"
STORE_ENV = "PIPELINE_GUARD_STORE_URL"
MAX_BODY = 5 * 1024 * 1024  # GitHub caps payloads at 25 MB; protection-rule payloads are a few KB
PENDING_SECONDS = 300.0  # a judge that died leaves its claim; after this a redelivery judges again
KEEP_SECONDS = 7 * 24 * 3600.0  # GitHub's redelivery window is 3 days
IDLE_TIMEOUT = 30  # seconds a keep-alive connection may sit idle
JSON = "application/vnd.github+json"


@dataclass
class Outcome:
    """What was decided for one run+environment, and whether GitHub has been told."""

    state: str  # "pending" while judged, then "approved" | "rejected"
    comment: str = ""
    posted: bool = False
    delivery: str = ""
    at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        return cls(**json.loads(text))


class Store(Protocol):
    """Verdicts by key. A shared implementation (e.g. Redis: `SET key value NX PX ttl` for `claim`,
    plain `SET ... PX` for `put`, Outcome.to_json as the value) de-duplicates across replicas."""

    def claim(self, key: str, outcome: Outcome) -> Outcome | None:
        """Store `outcome` (pending) if the key is free and return None; else return what is there."""
        ...

    def put(self, key: str, outcome: Outcome) -> None: ...

    def release(self, key: str) -> None: ...


class MemoryStore:
    """One process's store: bounded, expiring, thread-safe. Replicas each have their own."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, Outcome]] = OrderedDict()
        self._max = max_entries

    def _live(self, key: str, now: float) -> Outcome | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, outcome = item
        if expires <= now:
            del self._items[key]
            return None
        return outcome

    def claim(self, key: str, outcome: Outcome) -> Outcome | None:
        now = time.monotonic()
        with self._lock:
            found = self._live(key, now)
            if found is not None:
                return found
            self._items[key] = (now + PENDING_SECONDS, outcome)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
            return None

    def put(self, key: str, outcome: Outcome) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + KEEP_SECONDS, outcome)
            self._items.move_to_end(key)

    def release(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class RedisStore:
    """The store shared by replicas: `SET NX PX` claims a key for exactly one judge, `SET PX` keeps
    the verdict for GitHub's redelivery window. A replayed delivery on any replica gets it."""

    PREFIX = "pipeline-guard:verdict:"

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise UsageError(
                f"{STORE_ENV} names a Redis store, and the redis package is not installed "
                "(pip install 'pipeline-guard[redis]')"
            ) from None
        self.r = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self.r.ping()
        except redis.exceptions.RedisError as e:
            raise UsageError(f"cannot reach the verdict store: {e}", where=STORE_ENV) from None

    def claim(self, key: str, outcome: Outcome) -> Outcome | None:
        k = self.PREFIX + key
        for _ in range(3):  # a claim that expires between SET NX and GET is claimed again
            if self.r.set(k, outcome.to_json(), nx=True, px=int(PENDING_SECONDS * 1000)):
                return None
            raw = self.r.get(k)
            if raw is not None:
                return Outcome.from_json(raw.decode() if isinstance(raw, bytes) else str(raw))
        raise InternalError("the verdict store keeps expiring a claim: failing closed")

    def put(self, key: str, outcome: Outcome) -> None:
        self.r.set(self.PREFIX + key, outcome.to_json(), px=int(KEEP_SECONDS * 1000))

    def release(self, key: str) -> None:
        self.r.delete(self.PREFIX + key)


def make_store(url: str | None) -> Store:
    """The process's own MemoryStore, or a shared Redis store (redis:// or rediss://)."""
    if not url:
        return MemoryStore()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(f"{STORE_ENV} must be a redis://, rediss:// or unix:// URL")
    return RedisStore(url)


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """GitHub's `sha256=<hex HMAC of the raw body>`, compared in constant time."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


@dataclass
class Config:
    secret: bytes
    policy: Policy
    policy_source: str
    mode: Mode
    api_url: str = "https://api.github.com"
    token: str | None = None
    app_id: str | None = None
    app_key: str | None = None
    quiet: bool = False
    store_url: str | None = None  # a shared verdict store for replicas (redis://...)


def config_from_env(env: dict[str, str], policy_file: str | None, quiet: bool = False) -> Config:
    """Everything the receiver needs, checked at start-up: a bad set-up never answers a webhook."""
    from guard.policy import builtin_policy, effective_mode, load_policy_file

    secret = env.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise UsageError(f"{SECRET_ENV} must hold the App's webhook secret (at least 16 characters)")
    key = env.get(APP_KEY_ENV) or None
    if key is None and env.get(APP_KEY_FILE_ENV):
        try:
            with open(env[APP_KEY_FILE_ENV], encoding="utf-8") as fh:
                key = fh.read()
        except OSError as e:
            raise UsageError(
                f"cannot read the App's private key: {e.strerror}", where=env[APP_KEY_FILE_ENV]
            ) from None
    app_id = env.get(APP_ID_ENV) or None
    token = env.get(TOKEN_ENV) or None
    if not token and not (app_id and key):
        raise UsageError(
            f"set {APP_ID_ENV} and {APP_KEY_ENV} (or {APP_KEY_FILE_ENV}) for the GitHub App, "
            f"or {TOKEN_ENV} for a single repository"
        )
    policy = load_policy_file(policy_file) if policy_file else builtin_policy()
    mode, _ = effective_mode(policy, None)
    return Config(
        secret=secret.encode(),
        policy=policy,
        policy_source=policy_file or "builtin:default",
        mode=mode,
        api_url=(env.get(API_URL_ENV) or "https://api.github.com").rstrip("/"),
        token=token,
        app_id=app_id,
        app_key=key,
        quiet=quiet,
        store_url=env.get(STORE_ENV) or None,
    )


class Clients:
    """A PyGithub client per delivery. App installation tokens are fetched here (PyGithub's own
    fetch sends a retired preview media type) and reused until a minute before they expire."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._tokens: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _github(self, auth: Any) -> Github:
        from guard.doors.github.api import github

        return github(self.cfg.api_url, auth, write_interval=0.0)  # one write per delivery

    def _installation_token(self, installation_id: int) -> str:
        from github import Auth

        with self._lock:
            cached = self._tokens.get(installation_id)
        if cached is not None and cached[1] > time.time() + 60:
            return cached[0]
        app = self._github(Auth.AppAuth(self.cfg.app_id or "", self.cfg.app_key or ""))
        _, data = app.requester.requestJsonAndCheck(
            "POST", f"/app/installations/{installation_id}/access_tokens", headers={"Accept": JSON}
        )
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise UsageError(f"GitHub gave no token for installation {installation_id}")
        expires = unix_time(data.get("expires_at"))
        with self._lock:
            self._tokens[installation_id] = (token, expires)
        return token

    def for_request(self, req: Request) -> Github:
        from github import Auth

        if self.cfg.token:
            return self._github(Auth.Token(self.cfg.token))
        if req.installation_id is None:
            raise UsageError("the delivery names no App installation, and no token is configured")
        return self._github(Auth.Token(self._installation_token(req.installation_id)))


Reply = tuple[int, dict[str, Any] | None]


class Receiver:
    """The HTTP-free logic: headers and raw body in, status and JSON out."""

    def __init__(self, cfg: Config, store: Store | None = None) -> None:
        self.cfg = cfg
        self.store: Store = store or MemoryStore()
        self.clients = Clients(cfg)

    def handle(self, headers: dict[str, str], body: bytes) -> Reply:
        if not signature_ok(self.cfg.secret, body, headers.get("x-hub-signature-256")):
            return 401, {"error": "missing or bad X-Hub-Signature-256"}
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return 400, {"error": "the body is not JSON"}
        if not isinstance(payload, dict):
            return 400, {"error": "the body is not a JSON object"}
        from guard.doors.github.protection import EVENT, parse_request

        if headers.get("x-github-event") != EVENT or payload.get("action") != "requested":
            return 204, None
        try:
            req = parse_request(payload)
        except UsageError as e:
            return 400, {"error": str(e)}
        delivery = headers.get("x-github-delivery", "")
        found = self.store.claim(req.key, Outcome("pending", delivery=delivery, at=time.time()))
        if found is not None:
            if found.state != "pending" and not found.posted:
                found = self._post(req, found)  # the same verdict, never a new one
            return (202 if found.state == "pending" else 200), {**_public(found), "replay": True}
        try:
            outcome = self._judge(req, delivery)
        except BaseException:  # a bug, not a verdict: free the claim so a redelivery is judged
            self.store.release(req.key)
            raise
        return 200, {**_public(outcome), "replay": False}

    def _judge(self, req: Request, delivery: str) -> Outcome:
        from guard.doors.github.protection import Verdict, judge

        try:
            gh = self.clients.for_request(req)
            verdict = judge(gh, req, self.cfg.policy, self.cfg.mode, self.cfg.policy_source)
        except Exception as e:  # no client at all: still a stored, fail-closed verdict
            verdict = Verdict(
                "rejected", f"pipeline-guard could not judge this deployment ({type(e).__name__})"
            )
        return self._post(req, Outcome(verdict.state, verdict.comment, False, delivery, time.time()))

    def _post(self, req: Request, outcome: Outcome) -> Outcome:
        from guard.doors.github.protection import post

        try:
            post(self.clients.for_request(req), req, outcome.state, outcome.comment)
            outcome.posted = True
        except Exception as e:
            from guard.doors.github.api import describe

            self._log(f"could not post the verdict for {req.key}: {describe(e)}")
        self.store.put(req.key, outcome)
        return outcome

    def _log(self, line: str) -> None:
        if not self.cfg.quiet:
            sys.stderr.write(f"pipeline-guard serve: {line}\n")
            sys.stderr.flush()


def _public(o: Outcome) -> dict[str, Any]:
    return {"state": o.state, "posted": o.posted, "comment": o.comment}


class Handler(BaseHTTPRequestHandler):
    server: GuardHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive behind load balancers
    timeout = IDLE_TIMEOUT

    def _send(self, status: int, data: dict[str, Any] | None) -> None:
        raw = json.dumps(data).encode() if data is not None else b""
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/healthz":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        started = time.monotonic()
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            return self._send(411, {"error": "Content-Length required"})
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return self._send(413, {"error": f"body larger than {MAX_BODY} bytes"})
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, data = self.server.receiver.handle(headers, body)
        except Exception as e:  # never a traceback to the client; the store keeps nothing judged
            status, data = 500, {"error": f"internal error ({type(e).__name__})"}
        self._send(status, data)
        state = data.get("state") if data else None
        self.server.receiver._log(
            f"{headers.get('x-github-delivery', '-')} {headers.get('x-github-event', '-')} -> {status}"
            + (f" {state}" if state else "")
            + f" ({(time.monotonic() - started) * 1000:.0f} ms)"
        )

    def log_message(self, format: str, *args: Any) -> None:
        """Our own one line per delivery (above) replaces the access log."""


class GuardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(address, Handler)


def warm_up() -> None:
    """Import what a judgement needs before listening: the first deliveries must not pay for it."""
    import github  # noqa: F401

    import guard.doors.github.protection  # noqa: F401
    from guard.fingerprints import load_fingerprints

    load_fingerprints(None)


def serve(cfg: Config, host: str, port: int) -> None:
    """Run until SIGTERM or Ctrl-C; prints the listening address (port 0 picks a free one)."""
    warm_up()
    httpd = GuardHTTPServer((host, port), Receiver(cfg, make_store(cfg.store_url)))
    bound_host, bound_port = httpd.server_address[:2]
    sys.stderr.write(f"pipeline-guard serve: listening on http://{bound_host!s}:{bound_port}\n")
    sys.stderr.flush()

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
