"""Parsing what git prints: raw commits, `--raw -z` entries and `-U0` patches, streamed.

Two `git log` passes serve any range size: one for metadata (`--pretty=raw`, which also shows
whether a signature is present without running gpg), one for per-commit patches. Merge commits
are diffed with `--diff-merges=remerge`: what the merge itself added beyond the automatic merge
(conflict resolutions, evil merges), so work brought in from the other parent is not counted twice.
Hunks are held up to a byte budget (`HunkBudget`); past it files spill and are re-read one at a
time (GitRepo.added_lines)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from guard import budget
from guard.diff import removed_in
from guard.errors import InternalError
from guard.model import ZERO_SHA, Commit, FileChange, FileStatus, Person
from guard.trailers import parse_trailers

_STATUS: dict[str, FileStatus] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type-changed",
}


COMMIT_MARK = b"\x01PGC"


DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv", "--no-abbrev", "-M", "-U0")


# Each commit's own patch, one pass: parse_log_patches reads exactly this output.
LOG_PATCH_ARGS = ("log", "--format=%x01PGC%H", "-z", "--raw", "-p", "--diff-merges=remerge", *DIFF_FLAGS)


def decode_path(raw: bytes) -> str:
    """Paths are bytes in git; non-UTF-8 bytes are shown as \\xNN (never a crash, never lost)."""
    return raw.decode("utf-8", errors="backslashreplace")


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def looks_like_text(data: bytes) -> bool:
    """True for content git calls binary only because of a stray NUL or odd bytes."""
    sample = data[:65536]
    if not sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control / len(sample) < 0.02


def _parse_person(value: bytes, seen: dict[bytes, Person]) -> tuple[Person, int]:
    # "Name <email> 1700000000 +0000"; git forbids <> in names, so rpartition is exact.
    # A history repeats few identities: `seen` keeps one Person per identity for the whole pass.
    left, _, tail = value.rpartition(b">")
    person = seen.get(left)
    if person is None:
        name, _, email = left.partition(b"<")
        person = seen[left] = Person(decode_text(name.strip()), decode_text(email.strip()))
    try:
        return person, int(tail.split(None, 1)[0])
    except (ValueError, IndexError):
        return person, 0


def _header(head: bytes, key: bytes) -> bytes | None:
    """The first top-level `key value` header line's value. Continuation lines (gpgsig,
    mergetag) start with a space, so `\n<key> ` only ever finds a top-level header."""
    at = head.find(b"\n" + key + b" ")
    if at < 0:
        return None
    at += len(key) + 2
    stop = head.find(b"\n", at)
    return head[at:] if stop < 0 else head[at:stop]


def parse_raw_commit(record: bytes, seen: dict[bytes, Person] | None = None) -> Commit:
    """One `git log --pretty=raw` record -> Commit (without files). `seen` shares parsed
    identities across the records of one pass. Headers are found with `find`, not a loop over
    lines: identify parses whole histories, and this is most of its per-commit cost."""
    if seen is None:
        seen = {}
    head, _, body = record.partition(b"\n\n")
    first = head.split(b"\n", 1)[0]
    words = first[7:].split() if first.startswith(b"commit ") else []
    sha = words[0].decode("ascii", "replace") if words else ""
    parents: list[str] = []
    at = head.find(b"\nparent ")
    while at >= 0:
        stop = head.find(b"\n", at + 8)
        parents.append(head[at + 8 : stop if stop >= 0 else len(head)].strip().decode("ascii", "replace"))
        at = head.find(b"\nparent ", at + 8)
    value = _header(head, b"author")
    author, at_ = _parse_person(value, seen) if value is not None else (Person("", ""), 0)
    value = _header(head, b"committer")
    committer, ct = _parse_person(value, seen) if value is not None else (Person("", ""), 0)
    signed = b"\ngpgsig " in head or b"\ngpgsig-sha256 " in head
    # git indents every message line by four spaces; drop exactly that indent where present.
    if body.startswith(b"    "):
        body = body[4:]
    message = decode_text(body.replace(b"\n    ", b"\n")).rstrip("\n")
    return Commit(
        sha=sha,
        parents=tuple(parents),
        author=author,
        committer=committer,
        authored_at=at_,
        committed_at=ct,
        message=message,
        trailers=parse_trailers(message),
        signed=signed,
    )


class Reader:
    """Sequential reads of `--raw -z -p` output: NUL-delimited raw fields, then newline-delimited
    patch lines. Works over bytes or a pipe, holding only what has not been consumed yet (a big
    diff is parsed as it arrives); a very long line is read in growing blocks, so it costs linear
    time in both copying and searching."""

    def __init__(self, data: bytes = b"", stream: IO[bytes] | None = None) -> None:
        self.buf = data
        self.pos = 0
        self.stream = stream

    def _more(self) -> bool:
        if self.stream is None:
            return False
        budget.check("reading git output")
        block = self.stream.read(max(1 << 16, len(self.buf) - self.pos))
        if not block:
            self.stream = None
            return False
        self.buf = self.buf[self.pos :] + block
        self.pos = 0
        return True

    def peek(self) -> bytes:
        while self.pos >= len(self.buf):
            if not self._more():
                return b""
        return self.buf[self.pos : self.pos + 1]

    def skip(self) -> None:
        self.pos += 1

    def until(self, sep: bytes) -> bytes | None:
        """Up to the next `sep` (consumed); the rest at the end; None when nothing is left."""
        searched = self.pos
        while True:
            i = self.buf.find(sep, searched)
            if i >= 0:
                out = self.buf[self.pos : i]
                self.pos = i + len(sep)
                return out
            searched = max(self.pos, len(self.buf) - len(sep) + 1)
            offset = self.pos
            if not self._more():
                if self.pos >= len(self.buf):
                    return None
                out = self.buf[self.pos :]
                self.pos = len(self.buf)
                return out
            searched -= offset  # the buffer was rebased to the old position

    def blocks(self, stop: bytes | None = None) -> Iterator[bytes]:
        """Whole lines, many at a time: each block is complete lines joined by newlines (the
        newline after a block is consumed), up to a line starting with `stop`, which is left
        unread. A patch is cut into files by searching these blocks, never line by line."""
        while True:
            end = self.buf.rfind(b"\n", self.pos)
            if end < 0:
                if self._more():
                    continue
                if self.pos < len(self.buf):  # the last line has no newline
                    if stop is not None and self.buf.startswith(stop, self.pos):
                        return
                    block, self.pos = self.buf[self.pos :], len(self.buf)
                    yield block
                return
            block, start = self.buf[self.pos : end], self.pos
            if stop is not None:
                # A marker can only start a line: patch content starts with +, -, space or backslash.
                if block.startswith(stop):
                    return
                k = block.find(b"\n" + stop)
                if k >= 0:
                    self.pos = start + k + 1
                    yield block[:k]
                    return
            self.pos = end + 1
            yield block


def parse_raw_entries(r: Reader) -> list[FileChange]:
    files: list[FileChange] = []
    while r.peek() == b"\n":
        r.skip()
    while r.peek() == b":":
        meta = (r.until(b"\0") or b"")[1:].split(b" ")
        if len(meta) < 5:
            raise InternalError(f"unexpected git raw diff entry {meta!r}")
        old_mode, new_mode, old_sha, new_sha, status = (m.decode("ascii", "replace") for m in meta[:5])
        letter = status[:1]
        p1 = decode_path(r.until(b"\0") or b"")
        p2 = decode_path(r.until(b"\0") or b"") if letter in ("R", "C") else None
        fstatus = _STATUS.get(letter, "modified")
        files.append(
            FileChange(
                path=p2 if p2 is not None else p1,
                old_path=p1,
                status=fstatus,
                old_mode=None if old_mode == "000000" else old_mode,
                new_mode=None if new_mode == "000000" else new_mode,
                old_blob=None if old_sha == ZERO_SHA else old_sha,
                new_blob=None if new_sha == ZERO_SHA else new_sha,
                similarity=int(status[1:]) if letter in ("R", "C") and status[1:].isdigit() else None,
            )
        )
    if r.peek() == b"\0":
        r.skip()
    return files


class HunkBudget:
    """How much diff text one build may hold (bytes, roughly). Past it, a file's hunks are not
    kept: it is `spilled`, and readers get its lines again from git one file at a time
    (GitRepo.added_lines), so a huge diff is never held whole."""

    PER_FILE = 200  # the FileChange and its holder

    def __init__(self, limit: int) -> None:
        self.left = limit


_DIFF_HEADER = (b"diff --git ", b"diff --cc ", b"diff --combined ")


def _header_starts(block: bytes) -> list[int]:
    """Offsets of the lines of `block` that are file headers."""
    out = [0] if block.startswith(_DIFF_HEADER) else []
    k = block.find(b"\ndiff ")
    while k >= 0:
        if block.startswith(_DIFF_HEADER, k + 1):
            out.append(k + 1)
        k = block.find(b"\ndiff ", k + 1)
    return out


def parse_patches(
    r: Reader, files: list[FileChange], held: HunkBudget | None = None, stop: bytes | None = None
) -> None:
    """Cut the patch part of `git diff`/`git log -p` output (up to a line starting with `stop`)
    into files, in the order of the raw entries: each keeps its hunks as raw bytes (parsed into
    lines only when a check asks), git's binary verdict and its removed-line count.

    The hottest path of a big diff, so it never walks lines one by one: `diff ` can only start a
    line as a file header (hunk content starts with +, -, space or backslash), so headers are
    found by searching whole blocks."""
    sec = _Section(None, held)
    idx = -1
    for block in r.blocks(stop):
        budget.check("reading the diff")
        starts = _header_starts(block)
        if not starts or starts[0] > 0:  # the current file goes on
            sec.add(block[: starts[0] - 1] if starts else block)
        for i, at in enumerate(starts):
            sec.close()
            idx += 1
            sec = _Section(files[idx] if idx < len(files) else None, held)
            sec.add(block[at : starts[i + 1] - 1] if i + 1 < len(starts) else block[at:])
    sec.close()


class _Section:
    """One file's part of a patch as it streams in: header lines, then hunks."""

    def __init__(self, f: FileChange | None, held: HunkBudget | None) -> None:
        self.f = f
        self.held = held
        self.header: list[bytes] = []
        self.hunks: list[bytes] | None = None  # None until the first `@@` line
        self.size = 0
        self.removed = 0
        # A deleted file adds nothing: its hunks are counted, never kept.
        self.keep = f is not None and f.status != "deleted"

    def add(self, piece: bytes) -> None:
        if self.hunks is None:
            if piece.startswith(b"@@"):
                k = 0
            else:
                k = piece.find(b"\n@@") + 1
                if k == 0:
                    self.header.append(piece)
                    return
                self.header.append(piece[: k - 1])
            self.hunks = []
            piece = piece[k:]
        self.removed += removed_in(piece)  # pieces are whole lines: a `-` starts one
        if not self.keep:
            return
        self.hunks.append(piece)
        self.size += len(piece)
        if self.held is not None and self.size > self.held.left:  # over budget: re-read later
            self.keep, self.hunks = False, []
            if self.f is not None:
                self.f.spilled = True

    def close(self) -> None:
        f = self.f
        if f is None:
            return
        header = b"\n".join(self.header)
        if b"\nBinary files " in header or b"\nGIT binary patch" in header:
            f.binary = True
        f.removed_count += self.removed
        if self.keep and self.hunks:
            f.set_patch(b"\n".join(self.hunks))
            if self.held is not None:
                self.held.left -= self.size + HunkBudget.PER_FILE


def parse_log_patches(r: Reader, held: HunkBudget | None = None) -> Iterator[tuple[str, list[FileChange]]]:
    """(sha, files) per commit of `git log --format=%x01PGC%H -z --raw -p` output, as it arrives."""
    # The marker line ends in NUL, not always in a newline: an empty commit's marker is followed
    # directly by the next commit's.
    head = r.until(b"\0")
    while head is not None and head.lstrip(b"\n").startswith(COMMIT_MARK):
        budget.check("reading commits")
        sha = head.lstrip(b"\n")[len(COMMIT_MARK) :].decode("ascii", "replace").strip()
        files = parse_raw_entries(r)
        # Patch lines up to the next commit's marker: a marker only ever starts a line, and patch
        # content lines start with +, -, space or backslash, so file content cannot forge one.
        parse_patches(r, files, held, stop=COMMIT_MARK)
        yield sha, files
        head = r.until(b"\0")
