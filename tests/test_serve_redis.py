"""`serve` replicas sharing one verdict store: a real redis-server on loopback, two real receiver
processes. A delivery judged by one replica and replayed to the other gets the stored verdict and
nothing is read or posted again (the GitHub API is the replay of benchmarks/serve_load.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from serve_load import ReplayAPI, deliver, deploy_state, protection_payload, run_route, signed, start_receiver

from guard.doors.github.serve import Outcome, RedisStore, make_store
from guard.errors import UsageError

DEPLOYED, HEAD, AGENT = "0" * 40, "3" * 40, "a" * 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `bash .ci/run`")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*args, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            RedisStore(url)
            break
        except UsageError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_store_claims_once_and_keeps_the_verdict(redis_url: str) -> None:
    store = make_store(redis_url)
    assert store.claim("run-1:production", Outcome("pending", delivery="d1")) is None
    held = store.claim("run-1:production", Outcome("pending", delivery="d2"))
    assert held is not None and held.delivery == "d1"  # the second judge waits for the first
    store.put("run-1:production", Outcome("rejected", comment="no", posted=True, delivery="d1"))
    again = store.claim("run-1:production", Outcome("pending", delivery="d3"))
    assert again is not None and (again.state, again.posted) == ("rejected", True)
    store.release("run-1:production")
    assert store.claim("run-1:production", Outcome("pending")) is None


def test_bad_store_urls_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="must be a redis"):
        make_store("http://127.0.0.1:1/")
    with pytest.raises(UsageError, match="cannot reach the verdict store"):
        make_store(f"redis://127.0.0.1:{_free_port()}/0")


def test_a_replay_on_another_replica_gets_the_stored_verdict(redis_url: str, tmp_path: Path) -> None:
    api = ReplayAPI()
    env = {"PIPELINE_GUARD_STORE_URL": redis_url}
    a = start_receiver(api.url, tmp_path / "a.log", env=env)
    b = start_receiver(api.url, tmp_path / "b.log", env=env)
    try:
        deploy_state(api, deployed=DEPLOYED, head=HEAD, approved_on=None)
        run_route(api, 301)
        body, sig = signed(protection_payload(api.url, HEAD, 301))
        first = deliver(a.port, body, delivery="r-one", signature=sig)
        assert first.body is not None and first.body["state"] == "rejected"
        # The state changes (an approval arrives); GitHub redelivers to the other replica.
        deploy_state(api, deployed=DEPLOYED, head=HEAD, approved_on=AGENT)
        api.seen.clear()
        second = deliver(b.port, body, delivery="r-one-redelivery", signature=sig)
        assert second.status == 200 and second.body is not None
        assert second.body["state"] == "rejected" and second.body["replay"] is True
        assert api.seen == []  # nothing read, no contradictory verdict posted
    finally:
        a.stop()
        b.stop()
        api.close()
