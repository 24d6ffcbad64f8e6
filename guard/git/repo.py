"""Reading git: ranges, commits, file changes and added lines, from objects only (never the work tree)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any

from guard.diff import AddedLine
from guard.errors import InternalError, UsageError
from guard.git.parse import (
    DIFF_FLAGS,
    LOG_PATCH_ARGS,
    HunkBudget,
    Reader,
    decode_text,
    looks_like_text,
    parse_log_patches,
    parse_patches,
    parse_raw_commit,
    parse_raw_entries,
)
from guard.git.refs import GitRefs
from guard.git.runner import SHA
from guard.model import Change, Commit, FileChange, Person

MAX_TEXTY_BLOB = 2_000_000  # binary-flagged blobs up to this size are checked for "really text"


class GitRepo(GitRefs):
    """A git repository read through the `git` binary (bare, non-bare, or quarantined).

    Only the git command line is used (no GitPython): it is what reads quarantined objects
    correctly, and the hook path starts on every push, where each import costs."""

    def read_blob(self, sha: str, max_bytes: int | None = None) -> bytes | None:
        """A blob's bytes (None when missing or not a blob); reads quarantined objects too."""
        if not SHA.match(sha):
            return None
        try:
            return self._cat.read(sha, max_bytes)
        except (OSError, ValueError):
            self._cat.close()
            return None

    def blob_size(self, sha: str) -> int | None:
        if not SHA.match(sha):
            return None
        out = self.run("cat-file", "-s", sha, check=False).strip()
        return int(out) if out.isdigit() else None

    def stream_blob(self, sha: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """A blob in chunks, never held whole (a 1 GB binary costs one chunk of memory)."""
        if not SHA.match(sha):
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

    def iter_commits(self, revs: Sequence[str], extra: Sequence[str] = ()) -> Iterator[Commit]:
        """Commits for `git log` revision arguments, newest first, metadata only, in one process."""
        args = ["log", "--pretty=raw", "-z", "--no-color", *extra, "--end-of-options", *revs, "--"]
        pending: bytes | None = None
        seen: dict[bytes, Person] = {}
        for record in self.stream(*args):
            if record.startswith(b"commit ") or pending is None:
                if pending is not None:
                    yield parse_raw_commit(pending, seen)
                pending = record
            else:  # a NUL inside a hostile message split the record: glue it back
                pending += b"\0" + record
        if pending:
            yield parse_raw_commit(pending, seen)

    def commit_files(
        self, revs: Sequence[str], extra: Sequence[str] = (), held: HunkBudget | None = None
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
        with self.piped(*args) as r:
            for sha, files in parse_log_patches(r, held):
                self._fill_texty_binaries(files)
                out[sha] = files
        return out

    def net_files(
        self, base: str, head: str, commits: list[Commit], held: HunkBudget | None = None
    ) -> list[FileChange]:
        """The net diff base..head, sharing work with the commits' own diffs.

        A diff depends only on its two blobs: a net file whose (old, new) blob pair equals the
        one of a file in some commit's own diff has exactly that diff, so its added lines are
        shared instead of parsed (and held) twice. When any changed file has no such twin (it
        was touched by several commits), the whole net patch is read as before."""
        twins = {(f.old_blob, f.new_blob): f for c in commits for f in c.files}
        if twins:
            with self.piped("diff", "-z", "--raw", *DIFF_FLAGS, "--end-of-options", base, head, "--") as r:
                files = parse_raw_entries(r)
            if all(f.old_blob == f.new_blob or (f.old_blob, f.new_blob) in twins for f in files):
                for f in files:
                    twin = twins.get((f.old_blob, f.new_blob))
                    if twin is not None and f.old_blob != f.new_blob:
                        f.share_lines(twin)
                        f.binary, f.removed_count, f.spilled = twin.binary, twin.removed_count, twin.spilled
                return files
        return self.diff(base, head, held)

    def diff(self, base: str, head: str, held: HunkBudget | None = None) -> list[FileChange]:
        """File changes from base to head (callers pass the merge base for `base...head`)."""
        with self.piped("diff", "-z", "--raw", "-p", *DIFF_FLAGS, "--end-of-options", base, head, "--") as r:
            files = parse_raw_entries(r)
            parse_patches(r, files, held)
        self._fill_texty_binaries(files)
        return files

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
        with self.piped("diff", *text, *DIFF_FLAGS, "--end-of-options", f.old_blob, f.new_blob, "--") as r:
            parse_patches(r, tmp)
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
                parse_patches(Reader(data), tmp)
                f.added = tmp[0].added

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
        held = HunkBudget(self.line_budget)
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
        held = HunkBudget(self.line_budget)
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
