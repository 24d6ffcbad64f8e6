"""Reading git: ranges, commits, file changes and added lines, from objects only (never the work tree).

Works in working trees, bare repositories and pre-receive quarantine: git subprocesses inherit the
environment untouched (`GIT_DIR`, `GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`,
`GIT_QUARANTINE_PATH`); scrubbing it makes every quarantined object unreadable. Blobs come from
one persistent `git cat-file --batch-command` for the same reason: GitPython's GitDB backend
ignores alternates, and importing GitPython cost the hook about 0.1 s per push.

Two `git log` passes serve any range size: one for metadata (`--pretty=raw`, which also shows
whether a signature is present without running gpg), one for per-commit patches. Merge commits
are diffed with `--diff-merges=remerge`: what the merge itself added beyond the automatic merge
(conflict resolutions, evil merges), so work brought in from the other parent is not counted twice.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from guard import budget
from guard.errors import InternalError, UsageError
from guard.hunks import removed_in
from guard.model import ZERO_SHA, AddedLine, Change, Commit, FileChange, FileStatus, Person
from guard.trailers import parse_trailers

_STATUS: dict[str, FileStatus] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type-changed",
}
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
COMMIT_MARK = b"\x01PGC"
LINE_BUDGET = 96 << 20
MAX_TEXTY_BLOB = 2_000_000  # binary-flagged blobs up to this size are checked for "really text"
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


def _parse_person(value: bytes) -> tuple[Person, int]:
    # "Name <email> 1700000000 +0000"; git forbids <> in names, so rpartition is exact.
    left, _, tail = value.rpartition(b">")
    name, _, email = left.partition(b"<")
    ts = 0
    parts = tail.split()
    if parts:
        try:
            ts = int(parts[0])
        except ValueError:
            ts = 0
    return Person(decode_text(name.strip()), decode_text(email.strip())), ts


def parse_raw_commit(record: bytes) -> Commit:
    """One `git log --pretty=raw` record -> Commit (without files)."""
    head, _, body = record.partition(b"\n\n")
    sha = ""
    parents: list[str] = []
    author = committer = Person("", "")
    at = ct = 0
    signed = False
    for line in head.split(b"\n"):
        if line.startswith(b" "):  # continuation of a multi-line header (gpgsig, mergetag)
            continue
        key, _, value = line.partition(b" ")
        if key == b"commit":
            words = value.split()
            sha = words[0].decode("ascii", "replace") if words else ""
        elif key == b"parent":
            parents.append(value.strip().decode("ascii", "replace"))
        elif key == b"author":
            author, at = _parse_person(value)
        elif key == b"committer":
            committer, ct = _parse_person(value)
        elif key in (b"gpgsig", b"gpgsig-sha256"):
            signed = True
    msg_lines = [ln[4:] if ln.startswith(b"    ") else ln for ln in body.split(b"\n")]
    message = decode_text(b"\n".join(msg_lines)).rstrip("\n")
    return Commit(
        sha=sha,
        parents=tuple(parents),
        author=author,
        committer=committer,
        authored_at=at,
        committed_at=ct,
        message=message,
        trailers=parse_trailers(message),
        signed=signed,
    )


class _Reader:
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


def _parse_raw_entries(r: _Reader) -> list[FileChange]:
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


class _Budget:
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


def _parse_patches(
    r: _Reader, files: list[FileChange], held: _Budget | None = None, stop: bytes | None = None
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

    def __init__(self, f: FileChange | None, held: _Budget | None) -> None:
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
                self.held.left -= self.size + _Budget.PER_FILE


class _CatFile:
    """One persistent `git cat-file --batch-command` (git >= 2.36): header first, content on demand.

    Inherits the environment, so quarantined objects and alternates are found like any other."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                ["git", "cat-file", "--batch-command"],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self.proc

    def _ask(self, command: str) -> tuple[subprocess.Popen[bytes], list[bytes]]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(command.encode() + b"\n")
        proc.stdin.flush()
        return proc, proc.stdout.readline().split()

    def read(self, sha: str, max_bytes: int | None) -> bytes | None:
        _, head = self._ask(f"info {sha}")
        if len(head) != 3 or head[1] != b"blob":
            return None  # "<sha> missing", a tree, a commit...
        if max_bytes is not None and int(head[2]) > max_bytes:
            return None
        proc, head = self._ask(f"contents {sha}")
        assert proc.stdout is not None
        if len(head) != 3:
            return None
        data = proc.stdout.read(int(head[2]))
        proc.stdout.read(1)  # the newline after the content
        return data

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        self.proc = None


def parse_log_patches(r: _Reader, held: _Budget | None = None) -> Iterator[tuple[str, list[FileChange]]]:
    """(sha, files) per commit of `git log --format=%x01PGC%H -z --raw -p` output, as it arrives."""
    # The marker line ends in NUL, not always in a newline: an empty commit's marker is followed
    # directly by the next commit's.
    head = r.until(b"\0")
    while head is not None and head.lstrip(b"\n").startswith(COMMIT_MARK):
        budget.check("reading commits")
        sha = head.lstrip(b"\n")[len(COMMIT_MARK) :].decode("ascii", "replace").strip()
        files = _parse_raw_entries(r)
        # Patch lines up to the next commit's marker: a marker only ever starts a line, and patch
        # content lines start with +, -, space or backslash, so file content cannot forge one.
        _parse_patches(r, files, held, stop=COMMIT_MARK)
        yield sha, files
        head = r.until(b"\0")


class GitRepo:
    """A git repository read through the `git` binary (bare, non-bare, or quarantined).

    Only the git command line is used (no GitPython): it is what reads quarantined objects
    correctly, and the hook path starts on every push, where each import costs."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        where = str(path) if path is not None else os.environ.get("GIT_DIR", ".")
        cwd = Path(where)
        if not cwd.is_dir():
            raise UsageError("not a git repository (no such directory)", where=where)
        proc = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--is-bare-repository"], cwd=cwd, capture_output=True
        )
        out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if proc.returncode != 0 or len(out) < 2:
            raise UsageError("not a git repository", where=where)
        self.git_dir = Path(out[0])
        self.bare = out[1] == "true"
        top = None
        if not self.bare:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True)
        self.path = Path(top.stdout.decode("utf-8", "surrogateescape").strip()) if top else self.git_dir
        self._cat = _CatFile(self.path)
        # Hunk bytes one change may hold before files spill (re-read from git one at a time).
        self.line_budget = int(os.environ.get("PIPELINE_GUARD_LINE_BUDGET", str(LINE_BUDGET)))

    def close(self) -> None:
        self._cat.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to tidy
            self._cat.close()

    # ----- plumbing -----

    def proc(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run git with the inherited environment; killed when the active time budget runs out."""
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.path,
                input=input,
                capture_output=True,
                env=None,  # inherit: quarantine variables must reach git
                timeout=budget.timeout(),
            )
        except subprocess.TimeoutExpired:
            raise budget.BudgetExceeded(f"time budget exhausted while running git {args[0]}") from None

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        """Run git with the inherited environment; bytes out."""
        proc = self.proc(*args, input=input)
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {err[-1] if err else proc.returncode}")
        return proc.stdout

    def stream(self, *args: str) -> Iterator[bytes]:
        """Yield NUL-separated records of a git command's output without holding it all."""
        proc = subprocess.Popen(["git", *args], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        buf = b""
        out: IO[bytes] = proc.stdout
        try:
            while True:
                budget.check(f"git {args[0]}")
                block = out.read(1 << 16)
                if not block:
                    break
                buf += block
                *records, buf = buf.split(b"\0")
                yield from records
        except BaseException:  # budget exhausted or the consumer stopped: do not leave git running
            proc.kill()
            proc.wait()
            raise
        if buf:
            yield buf
        err = proc.stderr.read() if proc.stderr else b""
        if proc.wait() != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {last[-1] if last else proc.returncode}")

    @property
    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").exists()

    def resolve(self, rev: str, what: str = "revision") -> str:
        """A revision -> full commit id, or a usage error naming it (exit 2)."""
        if not rev or rev.startswith("-") or "\n" in rev or "\0" in rev:
            raise UsageError(f"invalid {what} {rev!r}")
        self._refuse_ambiguous(rev, what)
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            cwd=self.path,
            capture_output=True,
        )
        if proc.returncode != 0:
            hint = ""
            if self.is_shallow:
                hint = " (this is a shallow clone: fetch more history, e.g. `git fetch --unshallow`)"
            raise UsageError(f"unknown {what} {rev!r}{hint}")
        return proc.stdout.decode().strip()

    def _refuse_ambiguous(self, rev: str, what: str) -> None:
        """A short name that is both a tag and a branch is a usage error, never git's pick (the tag);
        a full name (`refs/...`) must exist exactly, or git would take `refs/tags/<it>`."""
        name = re.split(r"[~^@:]", rev, maxsplit=1)[0]
        if name.startswith("refs/"):  # exactly that ref: never `refs/tags/refs/heads/main` instead
            if self.ref_commit(name) is None:
                raise UsageError(f"unknown {what} {rev!r} (no ref of that full name)")
            return
        if not name or name == "HEAD" or _SHA.match(name):
            return
        # git's lookup order, plus the remote-tracking branch a CI clone has instead of a local one
        cands = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}"]
        cands.append(f"refs/remotes/origin/{name}")
        out = self.run("for-each-ref", "--format=%(refname)", "--end-of-options", *cands, check=False)
        found = sorted(set(out.decode("utf-8", "replace").splitlines()) & set(cands))
        # A branch named like an abbreviated id wins over the commit in git's lookup: refuse it too.
        if len(found) > 1 or (found and re.fullmatch(r"[0-9a-f]{4,63}", name)):
            raise UsageError(f"{what} {rev!r} is ambiguous ({', '.join(found)}): name it by its full ref")

    def exists(self, rev: str) -> bool:
        try:
            self.resolve(rev)
            return True
        except UsageError:
            return False

    # ----- refs by full name (trust is never decided on a name git may DWIM to a tag) -----

    def ref_commit(self, full: str) -> str | None:
        """The commit the ref named exactly `full` (`refs/...`) points to, or None.

        Never `rev-parse <name>`: when `refs/remotes/origin/main` is missing, git's DWIM rules
        would take `refs/tags/refs/remotes/origin/main`, a tag the change can create."""
        if not full.startswith("refs/") or any(c in full for c in "\n\0 ~^:?*[\\") or ".." in full:
            return None
        out = self.run(
            "for-each-ref", "--format=%(objectname) %(refname)", "--end-of-options", full, check=False
        )
        for line in out.decode("utf-8", "replace").splitlines():
            sha, _, name = line.partition(" ")
            if name == full:
                return self.peel(sha)
        return None

    def branch_ref(self, branch: str) -> str | None:
        """A branch name -> its full ref, `refs/remotes/origin/<b>` (what CI clones fetch), else
        `refs/heads/<b>`; None when neither exists. A tag of that name never stands in for it."""
        name = branch.removeprefix("refs/heads/")
        for full in (f"refs/remotes/origin/{name}", f"refs/heads/{name}"):
            if self.ref_commit(full) is not None:
                return full
        return None

    def oid(self, name: str) -> str:
        """A full ref name or a full object id -> commit id; anything else is a bug (fails closed).

        Short names (`main`, `origin/main`, `HEAD`, an abbreviated id) are refused: git resolves
        them as tags first, and a branch may be named like an abbreviated id."""
        if _SHA.match(name):
            return name
        if name.startswith("refs/"):
            sha = self.ref_commit(name)
            if sha is None:
                raise InternalError(f"ref {name} does not exist")
            return sha
        raise InternalError(f"refusing to resolve the short name {name!r}: trust needs full ref names")

    def merge_base(self, a: str, b: str) -> str | None:
        """The merge-base of two full ref names or object ids (see `oid`)."""
        proc = self.proc("merge-base", "--end-of-options", self.oid(a), self.oid(b))
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def is_ancestor(self, a: str, b: str) -> bool:
        return (
            self.proc("merge-base", "--is-ancestor", "--end-of-options", self.oid(a), self.oid(b)).returncode
            == 0
        )

    def default_branch(self) -> str | None:
        """The default branch's full ref: origin/HEAD's target, else the first of
        `refs/remotes/origin/{main,master}`, `refs/heads/{main,master}` that exists."""
        proc = self.proc("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        target = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        if target.startswith("refs/remotes/origin/") and self.ref_commit(target) is not None:
            return target
        for cand in (
            "refs/remotes/origin/main",
            "refs/remotes/origin/master",
            "refs/heads/main",
            "refs/heads/master",
        ):
            if self.ref_commit(cand) is not None:
                return cand
        return None

    def upstream(self) -> str | None:
        """The current branch's upstream as a full ref name (`refs/remotes/origin/feature`)."""
        proc = self.proc("rev-parse", "--symbolic-full-name", "@{upstream}")
        full = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        return full if full.startswith("refs/") and self.ref_commit(full) is not None else None

    def current_branch(self) -> str | None:
        proc = subprocess.run(
            ["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.path, capture_output=True
        )
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def read_blob(self, sha: str, max_bytes: int | None = None) -> bytes | None:
        """A blob's bytes (None when missing or not a blob); reads quarantined objects too."""
        if not _SHA.match(sha):
            return None
        try:
            return self._cat.read(sha, max_bytes)
        except (OSError, ValueError):
            self._cat.close()
            return None

    def blob_size(self, sha: str) -> int | None:
        if not _SHA.match(sha):
            return None
        out = self.run("cat-file", "-s", sha, check=False).strip()
        return int(out) if out.isdigit() else None

    def stream_blob(self, sha: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """A blob in chunks, never held whole (a 1 GB binary costs one chunk of memory)."""
        if not _SHA.match(sha):
            return
        proc = subprocess.Popen(
            ["git", "cat-file", "blob", sha], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert proc.stdout is not None
        try:
            while piece := proc.stdout.read(chunk):
                yield piece
        finally:
            proc.stdout.close()
            proc.kill()
            proc.wait()

    def read_file_at(self, rev: str, path: str, max_bytes: int | None = 2_000_000) -> bytes | None:
        """The bytes of `path` as it stands at `rev`, or None when it does not exist there."""
        proc = self.proc("rev-parse", "--verify", "--quiet", "--end-of-options", f"{self.oid(rev)}:{path}")
        if proc.returncode != 0:
            return None
        return self.read_blob(proc.stdout.decode().strip(), max_bytes)

    # ----- commits -----

    def iter_commits(self, revs: Sequence[str], extra: Sequence[str] = ()) -> Iterator[Commit]:
        """Commits for `git log` revision arguments, newest first, metadata only, in one process."""
        args = ["log", "--pretty=raw", "-z", "--no-color", *extra, "--end-of-options", *revs, "--"]
        pending: bytes | None = None
        for record in self.stream(*args):
            if record.startswith(b"commit ") or pending is None:
                if pending is not None:
                    yield parse_raw_commit(pending)
                pending = record
            else:  # a NUL inside a hostile message split the record: glue it back
                pending += b"\0" + record
        if pending:
            yield parse_raw_commit(pending)

    def commit_files(
        self, revs: Sequence[str], extra: Sequence[str] = (), held: _Budget | None = None
    ) -> dict[str, list[FileChange]]:
        """Each commit's own file changes (with added lines), in one `git log -p` pass.

        `extra` are `git log` arguments placed before the revisions (like iter_commits' `extra`).
        """
        args = [
            *LOG_PATCH_ARGS,
            *extra,
            "--end-of-options",
            *revs,
            "--",
        ]
        out: dict[str, list[FileChange]] = {}
        with self._piped(*args) as r:
            for sha, files in parse_log_patches(r, held):
                self._fill_texty_binaries(files)
                out[sha] = files
        return out

    def net_files(
        self, base: str, head: str, commits: list[Commit], held: _Budget | None = None
    ) -> list[FileChange]:
        """The net diff base..head, sharing work with the commits' own diffs.

        A diff depends only on its two blobs: a net file whose (old, new) blob pair equals the
        one of a file in some commit's own diff has exactly that diff, so its added lines are
        shared instead of parsed (and held) twice. When any changed file has no such twin (it
        was touched by several commits), the whole net patch is read as before."""
        twins = {(f.old_blob, f.new_blob): f for c in commits for f in c.files}
        if twins:
            with self._piped("diff", "-z", "--raw", *DIFF_FLAGS, "--end-of-options", base, head, "--") as r:
                files = _parse_raw_entries(r)
            if all(f.old_blob == f.new_blob or (f.old_blob, f.new_blob) in twins for f in files):
                for f in files:
                    twin = twins.get((f.old_blob, f.new_blob))
                    if twin is not None and f.old_blob != f.new_blob:
                        f.share_lines(twin)
                        f.binary, f.removed_count, f.spilled = twin.binary, twin.removed_count, twin.spilled
                return files
        return self.diff(base, head, held)

    def diff(self, base: str, head: str, held: _Budget | None = None) -> list[FileChange]:
        """File changes from base to head (callers pass the merge base for `base...head`)."""
        with self._piped("diff", "-z", "--raw", "-p", *DIFF_FLAGS, "--end-of-options", base, head, "--") as r:
            files = _parse_raw_entries(r)
            _parse_patches(r, files, held)
        self._fill_texty_binaries(files)
        return files

    @contextlib.contextmanager
    def _piped(self, *args: str) -> Iterator[_Reader]:
        """A reader over a git command's stdout, parsed as it arrives; git is killed on any error
        (the budget running out included) and a failure exit is an InternalError."""
        proc = subprocess.Popen(["git", *args], cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            yield _Reader(stream=proc.stdout)
            proc.stdout.read()  # drain what the parser did not need
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        err = proc.stderr.read()
        if proc.wait() != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()
            raise InternalError(f"git {args[0]} failed: {last[-1] if last else proc.returncode}")

    def added_lines(self, f: FileChange) -> list[AddedLine]:
        """A file change's added lines read again from its blobs (for a `spilled` file): an added
        file's every line, a modified one's `git diff` of the two blobs. Fails closed."""
        if f.new_blob is None or f.is_submodule:
            return []
        data = self.read_blob(f.new_blob) if f.old_blob is None or f.binary else None
        if f.binary and (data is None or not looks_like_text(data)):
            return []
        if f.old_blob is None:
            if data is None:
                raise InternalError(f"cannot read {f.path} ({f.new_blob[:12]}) again")
            rows = data.split(b"\n")
            if rows and rows[-1] == b"":
                rows.pop()
            return [AddedLine(i + 1, t.rstrip(b"\r").decode("utf-8", "replace")) for i, t in enumerate(rows)]
        tmp = [FileChange(path=f.path, status="modified")]
        text = ("--text",) if f.binary else ()
        with self._piped("diff", *text, *DIFF_FLAGS, "--end-of-options", f.old_blob, f.new_blob, "--") as r:
            _parse_patches(r, tmp)
        return tmp[0].added

    def _fill_texty_binaries(self, files: list[FileChange]) -> None:
        """A file git calls binary because of one stray NUL is still text to the secret scanner."""
        for f in files:
            if not f.binary or f.added or not f.new_blob or f.is_submodule:
                continue
            new = self.read_blob(f.new_blob, MAX_TEXTY_BLOB)
            if new is None or not looks_like_text(new):
                continue
            if f.old_blob is None:
                f.added = [AddedLine(i + 1, decode_text(t)) for i, t in enumerate(new.split(b"\n")) if t]
            else:
                data = self.run("diff", "--text", *DIFF_FLAGS, f.old_blob, f.new_blob, check=False)
                tmp = [FileChange(path=f.path, status="modified")]
                _parse_patches(_Reader(data), tmp)
                f.added = tmp[0].added

    # ----- the unit under judgement -----

    def build_change(
        self,
        base: str | None,
        head: str,
        *,
        door: str = "local",
        per_commit_files: bool = True,
        **fields: Any,
    ) -> Change:
        """A Change for base..head: commits (with their own diffs) and the net diff base...head."""
        head_sha = self.resolve(head, "head")
        base_sha = self.resolve(base, "base") if base else None
        if base_sha:
            mb = self.merge_base(base_sha, head_sha)
            if mb is None:
                hint = " (shallow clone?)" if self.is_shallow else ""
                raise UsageError(f"base {base!r} and head {head!r} share no history{hint}")
            revs, net_base = [f"{base_sha}..{head_sha}"], mb
        else:
            revs, net_base = [head_sha], EMPTY_TREE
        commits = list(self.iter_commits(revs))
        held = _Budget(self.line_budget)
        if per_commit_files and commits:
            by_sha = self.commit_files(revs, held=held)
            for c in commits:
                c.files = by_sha.get(c.sha, [])
        files = self.net_files(net_base, head_sha, commits, held)
        return Change(
            door=door, head=head_sha, base=base_sha, commits=commits, files=files, blobs=self, **fields
        )

    def build_change_revs(
        self,
        revs: Sequence[str],
        net_base: str | None,
        head: str,
        *,
        door: str,
        extra: Sequence[str] = (),
        per_commit_files: bool = True,
        **fields: Any,
    ) -> Change:
        """A Change for an explicit commit set: `git log` revisions (`[new, "^old"]`) and `extra`
        arguments placed before them (`--end-of-options` protects `revs`, so pseudo-options go in
        `extra`: `["--not", "--all", "--not"]` keeps only commits no ref reaches yet).

        `commits` are exactly the commits selected (each with its own diff); `files` is the net diff
        `net_base..head` (None: from the empty tree). `base` is `net_base`.
        """
        commits = list(self.iter_commits(revs, extra))
        held = _Budget(self.line_budget)
        if per_commit_files and commits:
            by_sha = self.commit_files(revs, extra, held)
            for c in commits:
                c.files = by_sha.get(c.sha, [])
        files = self.net_files(net_base or EMPTY_TREE, head, commits, held)
        return Change(door=door, head=head, base=net_base, commits=commits, files=files, blobs=self, **fields)

    def boundary(self, revs: Sequence[str], extra: Sequence[str] = ()) -> tuple[int, list[str]]:
        """(how many commits the revisions select, the commits just outside them that they build on),
        from one `rev-list --boundary` (no diffs: cheap enough to decide whether to scan at all)."""
        out = self.run("rev-list", "--boundary", *extra, "--end-of-options", *revs, "--").decode()
        count, edge = 0, []
        for line in out.split():
            if line.startswith("-"):
                edge.append(line[1:])
            else:
                count += 1
        return count, edge

    def ref_tips(self, prefix: str = "refs/heads/") -> dict[str, str]:
        """Ref name -> the object it points to, for refs under `prefix` (as the hook sees them)."""
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", prefix).decode()
        return {name: sha for sha, _, name in (ln.partition(" ") for ln in out.splitlines()) if name}

    def peel(self, sha: str) -> str | None:
        """The commit an object id names (a commit, or a tag pointing at one); None otherwise."""
        if not _SHA.match(sha):
            return None
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{sha}^{{commit}}", check=False
        )
        return out.decode().strip() or None

    def tagged_commit(self, sha: str) -> Commit | None:
        """The commit a tag (or commit) id names, metadata only; None when it names no commit."""
        target = self.peel(sha)
        return next(self.iter_commits([target], ("--no-walk",)), None) if target else None

    def read_tag(self, sha: str) -> tuple[str | None, str] | None:
        """(the name an annotated tag was made for, its message without the signature block);
        None when `sha` is not a tag object."""
        if self.object_type(sha) != "tag":
            return None
        raw = self.run("cat-file", "tag", sha).decode("utf-8", "replace")
        head, _, message = raw.partition("\n\n")
        name = next((ln[4:] for ln in head.split("\n") if ln.startswith("tag ")), None)
        for marker in ("-----BEGIN PGP SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----"):
            message = message.split(marker, 1)[0]
        return name, message

    def object_type(self, sha: str) -> str | None:
        out = self.run("cat-file", "-t", sha, check=False) if _SHA.match(sha) else b""
        return out.decode().strip() or None

    def independent(self, shas: Sequence[str]) -> list[str]:
        """The commits among `shas` that no other one of them reaches (`merge-base --independent`)."""
        if len(shas) < 2:
            return list(shas)
        return self.run("merge-base", "--independent", *shas).decode().split()

    def octopus_base(self, shas: Sequence[str]) -> str | None:
        out = self.run("merge-base", "--octopus", *shas, check=False).decode().split()
        return out[0] if out else None

    def config_get(self, key: str) -> str | None:
        """A git config value as git resolves it for this repository (system, global, repo)."""
        out = self.run("config", "--get", key, check=False).decode().strip()
        return out or None

    def verify_signature(self, sha: str, allowed_signers: str | None) -> tuple[bool, str | None]:
        """(git verified the signature as good and trusted, signer principal) for a commit or tag.

        SSH signatures verify against `allowed_signers` (git's gpg.ssh.allowedSignersFile); GPG ones
        against the keyring of the user running git, and count only when fully trusted.
        """
        pre = ["-c", f"gpg.ssh.allowedSignersFile={allowed_signers}"] if allowed_signers else []
        kind = self.object_type(sha)
        if kind == "commit":
            out = self.run(*pre, "log", "-1", "--no-walk", "--format=%G?%x00%GS", sha, check=False)
            status, _, signer = out.decode("utf-8", "replace").strip().partition("\0")
            return status == "G" and bool(signer), signer or None
        if kind != "tag":
            return False, None
        proc = self.proc(*pre, "verify-tag", "--raw", sha)
        err = proc.stderr.decode("utf-8", "replace")
        ssh = re.search(r'^Good "git" signature for (\S+) with ', err, re.M)
        if ssh:
            return proc.returncode == 0, ssh.group(1)
        gpg = re.search(r"^\[GNUPG:\] GOODSIG \S+ (.+)$", err, re.M)
        trusted = re.search(r"^\[GNUPG:\] TRUST_(FULLY|ULTIMATE)", err, re.M)
        if gpg:
            return proc.returncode == 0 and trusted is not None, gpg.group(1).strip()
        return False, None


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
