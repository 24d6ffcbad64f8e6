"""Prism serving GitHub's own OpenAPI description: started once per test run, shared by every test.

`prism_url()` prepares the spec (prep_github_spec.py) from .ci/cache/openapi (fetched by .ci/run),
starts `prism mock` on a free port and waits for "Prism is listening". A missing stand-in fails
the test: nothing here skips. `Recorder` hooks requests' Session.send so a test can assert on
exactly what PyGithub sent, and can force an error response with Prism's `Prefer: code=` header.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import requests

from standins.prep_github_spec import prepare

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SPEC = ROOT / ".ci/cache/openapi/package/generated/api.github.com.json"


def node_modules() -> Path:
    from conftest import node_modules as nm

    return nm()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Prism:
    url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@lru_cache(maxsize=1)
def prism() -> Prism:
    spec_src = Path(os.environ.get("PG_GITHUB_OPENAPI", SPEC))
    if not spec_src.is_file():
        pytest.fail(f"GitHub's OpenAPI description is missing at {spec_src}: run `bash .ci/run`")
    bin_ = node_modules() / ".bin/prism"
    if not bin_.exists():
        pytest.fail(f"prism is not installed at {bin_}: run `bash .ci/run`")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="pg-prism-"))
    atexit.register(shutil.rmtree, work, True)  # registered first: runs after terminate
    keep = [ln.strip() for ln in (HERE / "gh_paths.txt").read_text().splitlines() if ln.strip()]
    spec = prepare(json.loads(spec_src.read_text(encoding="utf-8")), keep, url)
    (work / "gh.json").write_text(json.dumps(spec), encoding="utf-8")
    log = work / "prism.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(bin_), "mock", str(work / "gh.json"), "-h", "127.0.0.1", "-p", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    atexit.register(proc.terminate)
    server = Prism(url, log, proc)
    deadline = time.monotonic() + 60
    while "Prism is listening" not in server.log_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"prism did not start:\n{server.log_text()[-2000:]}")
        time.sleep(0.1)
    return server


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class Recorder:
    """Every request PyGithub sends (through requests), with the answer's status."""

    sent: list[Sent] = field(default_factory=list)
    prefer: dict[tuple[str, str], str] = field(default_factory=dict)  # (METHOD, path part) -> code

    def calls(self, method: str, suffix: str = "") -> list[Sent]:
        return [s for s in self.sent if s.method == method and suffix in s.url.split("?")[0]]


@contextmanager
def recording(prefer: dict[tuple[str, str], str] | None = None) -> Iterator[Recorder]:
    rec = Recorder(prefer=dict(prefer or {}))
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        path = (request.url or "").split("?")[0]
        for (method, suffix), code in rec.prefer.items():
            if request.method == method and suffix in path:
                request.headers["Prefer"] = f"code={code}"
        resp = original(self, request, **kw)
        body: Any = None
        if request.body:
            raw = request.body.decode() if isinstance(request.body, bytes) else request.body
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        rec.sent.append(
            Sent(request.method or "", request.url or "", dict(request.headers), body, resp.status_code)
        )
        return resp

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield rec
    finally:
        requests.Session.send = original  # type: ignore[method-assign]
