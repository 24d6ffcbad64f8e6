"""Secrets in blobs git calls binary: a NUL, odd bytes, a size or a `.gitattributes` line the
change adds (`*.cfg binary`, `-diff`) must not hide a token.

Such blobs are read from git in chunks (never whole) and their printable runs, ASCII and
UTF-16LE like `strings`, are scanned by the same detectors as added lines. Chunks overlap so a
token across a boundary is still whole in one of them. A blob over `secrets.max_binary_bytes`
(at most policy.MAX_BINARY_CAP), or one git cannot read, is not a pass: the check reports it as
`scan-incomplete`. Under a time budget (the pre-receive hook) a blob scan stops once less than
RESERVE of the budget is left, so the rest of the judgement still runs; the blob is then
`scan-incomplete` too (with the hits found so far), a finding rather than a timeout.

Files git diffs as text are read here as well when their added lines hold a NUL: UTF-16 text
(past git's 8000-byte look, or under a `.gitattributes` `diff` line) is `t\0o\0k\0...` to a line scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from guard import budget
from guard.secrets.engine import Hit, scan_texts

MIN_RUN = 8  # shorter printable runs hold no credential any detector matches
OVERLAP = 8192  # bytes carried into the next chunk: longer than any token the detectors match
RESERVE = 0.25  # share of a time budget binary scans leave to the rest of the judgement
_ASCII = re.compile(rb"[\x20-\x7e\t]{%d,}" % MIN_RUN)
_UTF16_PATTERN = rb"(?:[\x20-\x7e\t]\x00){%d,}" % MIN_RUN
try:  # UTF-16 runs are rare: re2 rules a chunk out about 15x faster than re (benchmarks/binary_bench.py)
    import re2 as _re2  # type: ignore[import-untyped,import-not-found,unused-ignore]

    _UTF16: Any = _re2.compile(_UTF16_PATTERN)
except ImportError:  # pragma: no cover - exercised only without google-re2
    _UTF16 = re.compile(_UTF16_PATTERN)


class BlobStream(Protocol):
    def blob_size(self, sha: str) -> int | None: ...

    def stream_blob(self, sha: str, chunk: int = ...) -> Iterator[bytes]: ...


def _runs(buf: bytes, lines_before: int) -> tuple[list[int], list[str]]:
    """Printable runs of `buf` with the (1-based) line each starts on."""
    found: list[tuple[int, str]] = [(m.start(), m.group().decode("ascii")) for m in _ASCII.finditer(buf)]
    found += [(m.start(), m.group().decode("utf-16-le")) for m in _UTF16.finditer(buf)]
    found.sort()
    numbers: list[int] = []
    texts: list[str] = []
    pos, line = 0, lines_before + 1
    for start, text in found:
        line += buf.count(b"\n", pos, start)
        pos = start
        numbers.append(line)
        texts.append(text)
    return numbers, texts


def out_of_time() -> bool:
    """True once the active deadline has less than its RESERVE share left (never with none)."""
    d = budget.current()
    return d is not None and d.remaining() < d.seconds * RESERVE


def scan_runs(path: str, chunks: Iterable[bytes], max_line_length: int) -> tuple[list[Hit], str | None]:
    """(hits in a blob given as chunks, each (detector, value) once at its first line; why the
    scan stopped short or None). Hits found before a stop are kept: they are real."""
    hits: dict[tuple[str, str], Hit] = {}
    carry, lines, seen = b"", 0, 0
    for chunk in chunks:
        budget.check(f"scanning binary {path}")
        if out_of_time():
            return list(hits.values()), f"time budget: stopped after {seen} bytes"
        buf = carry + chunk
        seen += len(chunk)
        numbers, texts = _runs(buf, lines)
        for h in scan_texts(path, numbers, texts, max_line_length=max_line_length):
            hits.setdefault((h.detector, h.value), h)
        keep = max(0, len(buf) - OVERLAP)
        lines += buf.count(b"\n", 0, keep)
        carry = buf[keep:]
    return list(hits.values()), None


def scan_chunks(path: str, chunks: Iterable[bytes], max_line_length: int) -> list[Hit]:
    """The hits of scan_runs, however far it got."""
    return scan_runs(path, chunks, max_line_length)[0]


def scan_blob(
    reader: BlobStream, path: str, new: str, old: str | None, max_bytes: int, max_line_length: int
) -> tuple[list[Hit], str | None]:
    """(hits the new blob adds over the old one, why it could not be scanned whole or None).

    Only values found in the old blob are dropped: an old blob over the cap or cut short by the
    budget leaves the rest reported (a pre-existing token may then be reported, never missed)."""
    size = reader.blob_size(new)
    if size is None:
        return [], "git could not read it"
    if size > max_bytes:
        return [], f"{size} bytes, over secrets.max_binary_bytes ({max_bytes})"
    hits, stopped = scan_runs(path, reader.stream_blob(new), max_line_length)
    if stopped is not None:
        stopped += f" of {size}"
    if hits and old is not None:
        old_size = reader.blob_size(old)
        if old_size is not None and old_size <= max_bytes:
            before = {h.value for h in scan_runs(path, reader.stream_blob(old), max_line_length)[0]}
            hits = [h for h in hits if h.value not in before]
    return hits, stopped
