"""Headless Chromium over the DevTools protocol on --remote-debugging-pipe (no extra dependency).

`render(html_file, screenshot)` opens a local page, waits for its load event, collects console
messages, log entries (CSP violations are logged as errors) and uncaught exceptions, counts SVG
elements and saves a full-page PNG. Chromium reads commands on fd 3 and writes replies on fd 4,
each message NUL-terminated JSON.

Chromium is required, not optional: .ci/run installs Debian's `chromium`; a missing binary fails
with a message saying so (the browser test must never skip silently in CI).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str:
    for name in (os.environ.get("PG_CHROMIUM", ""), "/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise AssertionError(
        "chromium is not installed: .ci/run installs it (apt-get install chromium); "
        "locally: sudo apt-get install -y chromium, or set PG_CHROMIUM to its path"
    )


@dataclass
class Page:
    console: list[str] = field(default_factory=list)  # errors and warnings, any source
    svgs: int = 0
    title: str = ""
    text: str = ""


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], to_chrome: int, from_chrome: int) -> None:
        self.proc, self.w, self.r = proc, to_chrome, from_chrome
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise AssertionError(f"chromium exited (code {self.proc.poll()})")
                self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        out: dict[str, Any] = json.loads(raw)
        return out

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        mid = self.send(method, params, session)
        deadline = time.monotonic() + 30
        while True:
            msg = self._read(deadline)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            msg = self._read(deadline)
            if msg.get("method") == method:
                return msg
            self.events.append(msg)


def _problems(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append(f"console.{p['type']}: {p.get('args')}")
        elif m == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            e = p["entry"]
            out.append(f"log {e.get('source')}/{e.get('level')}: {e.get('text')}")
    return out


def render(html_file: Path, screenshot: Path, width: int = 900, max_height: int = 6000) -> Page:
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="pg-chromium-") as profile:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()

        def fds() -> None:  # in the child: fd 3 = commands in, fd 4 = replies out
            high_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
            high_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # dup2 onto another number: inheritable
            os.dup2(high_w, 4)

        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1000", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,
            close_fds=False,
        )
        os.close(to_r)
        os.close(from_w)
        pipe = _Pipe(proc, to_w, from_r)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.call(f"{domain}.enable", session=sid)
            pipe.events.clear()
            pipe.call("Page.navigate", {"url": html_file.resolve().as_uri()}, session=sid)
            pipe.wait_event("Page.loadEventFired")
            time.sleep(0.3)  # let late console/CSP reports arrive
            pipe.call("Runtime.evaluate", {"expression": "1"}, session=sid)  # drain
            page = Page(console=_problems(pipe.events))
            pipe.events.clear()

            def ev(expr: str) -> Any:
                res = pipe.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
                return res["result"].get("value")

            page.svgs = int(ev("document.querySelectorAll('svg.chart').length"))
            page.title = str(ev("document.title"))
            page.text = str(ev("document.body.innerText"))
            height = int(ev("Math.ceil(document.documentElement.scrollHeight)"))
            shot = pipe.call(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1},
                },
                session=sid,
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            page.console += _problems(pipe.events)
            return page
        finally:
            try:
                pipe.send("Browser.close")
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
                proc.wait()
            os.close(to_w)
            os.close(from_r)
