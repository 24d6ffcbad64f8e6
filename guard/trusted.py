"""Where the policy comes from: a trusted line of history, never the change under judgement.

The trusted ref is the base commit when it already lies on the default branch (or on a ref the
caller names as protected), otherwise the merge-base of the head with the default branch. A
commit inside the judged range, or a branch the change itself names, is never trusted: an agent
can create branches, and it can edit `.pipeline-guard.yml` in the very change being judged.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from guard.checks.ci_reach import Reach, reach_of
from guard.ci.jobs import ci_kind
from guard.codeowners import LOCATIONS, CodeOwners
from guard.codeowners import parse as parse_codeowners
from guard.errors import UsageError
from guard.git.repo import GitRepo
from guard.policy import POLICY_FILES, Policy, build_policy, builtin_policy, load_policy_file


@dataclass
class TrustedPolicy:
    policy: Policy
    source: str  # "builtin:default", ".pipeline-guard.yml@<sha>", or a server-side file path
    ref: str | None  # the trusted commit the policy was read at
    notes: list[str] = field(default_factory=list)
    baseline: tuple[str, str] | None = None  # (text, where) of the secret baseline at the trusted ref
    codeowners: CodeOwners | None = None  # read at the trusted ref when a step-up needs code owners
    ci_reach: dict[str, Reach] = field(default_factory=dict)  # files privileged CI runs, at the ref


def _refs_containing(repo: GitRepo, sha: str) -> list[str]:
    """Full names of the branches (local and remote-tracking) whose history holds `sha`.

    Full names (`%(refname)`), never `%(refname:short)`: a tag named `main` turns the short name
    of `refs/heads/main` into `heads/main`, and a branch named `origin/main` shortens like the
    remote-tracking one."""
    out = repo.run(
        "for-each-ref",
        "--contains",
        sha,
        "--format=%(refname)",
        "refs/heads/",
        "refs/remotes/origin/",
        check=False,
    )
    return [
        ln for ln in out.decode("utf-8", "replace").splitlines() if ln and ln != "refs/remotes/origin/HEAD"
    ]


def branch_name(full: str) -> str:
    """`refs/heads/x` or `refs/remotes/origin/x` -> `x` (what trusted-ref patterns match)."""
    for prefix in ("refs/remotes/origin/", "refs/heads/"):
        if full.startswith(prefix):
            return full[len(prefix) :]
    return full


def hostile_tags(repo: GitRepo, default: str | None) -> list[str]:
    """Tags named like a branch: `HEAD`, `refs/...`, or the default branch's short names.

    They never decide trust here (full names), but git itself trips on them: in a shallow clone,
    fetching tags with an explicit refspec (`+refs/tags/*:refs/tags/*`, git 2.39) lets a tag
    `refs/heads/main` move `refs/remotes/origin/main`. So they are named in the notes."""
    names = {"HEAD"}
    if default is not None:
        b = branch_name(default)
        names |= {b, f"origin/{b}", f"heads/{b}", f"remotes/origin/{b}"}
    out = repo.run("for-each-ref", "--format=%(refname)", "refs/tags/", check=False)
    tags = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln]
    return [t for t in tags if t.removeprefix("refs/tags/") in names or t.startswith("refs/tags/refs/")]


def _refuse_a_moved_default(repo: GitRepo, default: str, hostile: list[str]) -> None:
    """Fail closed when a tag named like the default branch's full ref points where that ref does:
    the shallow-fetch confusion above may have moved the branch to the tag's commit."""
    tip = repo.ref_commit(default)
    b = branch_name(default)
    for tag in hostile:
        if tag in (f"refs/tags/refs/heads/{b}", f"refs/tags/refs/remotes/origin/{b}") and (
            repo.ref_commit(tag) == tip
        ):
            raise UsageError(
                f"{default} points where the tag {tag} does: git may have moved it while fetching "
                f"that tag into a shallow clone; delete the tag and fetch {default} again"
            )


def resolve_trusted_ref(
    repo: GitRepo,
    base: str | None,
    head: str,
    trusted_refs: tuple[str, ...] = (),
    exclude_refs: tuple[str, ...] = (),
) -> tuple[str | None, list[str]]:
    """The commit whose policy is trusted for judging base..head, and notes explaining the choice.

    `base` and `head` are commit ids; `trusted_refs` are branch-name globs (a `refs/heads/` prefix
    is dropped) matched against the branch part of full ref names, never against tags."""
    notes: list[str] = []
    default = repo.default_branch()  # a full ref name, or None
    hostile = hostile_tags(repo, default)
    if default is not None:
        _refuse_a_moved_default(repo, default, hostile)
    if hostile:
        # Only names we chose are echoed: any other tag name is the change's text (could hold a secret).
        known = [t for t in hostile if not t.startswith("refs/tags/refs/")]
        rest = len(hostile) - len(known)
        shown = ", ".join([*known, *([f"{rest} under refs/tags/refs/"] if rest else [])])
        notes.append(
            f"tags named like a branch ({shown}): ignored for the trusted policy (full ref names); "
            "delete them, git may confuse them with the branch when fetching into a shallow clone"
        )
    patterns = tuple(p.removeprefix("refs/heads/") for p in trusted_refs)
    excluded = {r.removeprefix("refs/heads/") for r in exclude_refs if r}
    if base:
        names = [n for n in _refs_containing(repo, base) if branch_name(n) not in excluded]
        on_default = default is not None and default in names
        on_protected = any(fnmatch.fnmatchcase(branch_name(n), p) for n in names for p in patterns)
        if on_default or on_protected:
            return base, notes
        if default is None and not patterns:
            notes.append("no default branch found: the policy was read at the base commit")
            return base, notes
    if default is not None:
        mb = repo.merge_base(head, default)
        if mb is not None:
            if base:
                notes.append(
                    f"the base is not on {default} or a protected ref: "
                    f"policy read at the merge-base with {default}"
                )
            return mb, notes
        notes.append(f"the head shares no history with {default}: no trusted policy in the repository")
        return None, notes
    if base is None:
        notes.append("no base and no default branch: the built-in policy applies")
    return None, notes


def needs_codeowners(policy: Policy) -> bool:
    specs = [policy.step_up, *(r.step_up for r in policy.rules if r.step_up is not None)]
    return any(s.codeowners for s in specs)


def _with_codeowners(repo: GitRepo, tp: TrustedPolicy) -> TrustedPolicy:
    """CODEOWNERS from the trusted ref, only when a step-up rule asks for code owners."""
    if tp.ref is None or not needs_codeowners(tp.policy):
        return tp
    for name in LOCATIONS:
        data = repo.read_file_at(tp.ref, name, max_bytes=3_000_000)
        if data is not None:
            tp.codeowners = parse_codeowners(data.decode("utf-8", "replace"), f"{name}@{tp.ref[:12]}")
            return tp
    tp.notes.append("the policy asks for code owners, and no CODEOWNERS file is on the trusted ref")
    return tp


def _with_trusted_files(repo: GitRepo, tp: TrustedPolicy, policy_dir: Path | None = None) -> TrustedPolicy:
    """The files that travel with the policy: CODEOWNERS and the secret baseline."""
    return _with_ci_reach(repo, _with_baseline(repo, _with_codeowners(repo, tp), policy_dir))


CI_ROOTS = (".github/workflows", ".gitlab-ci.yml", ".gitlab/ci", ".gitlab-ci")
MAX_CI_FILES = 300


def trusted_ci_reach(repo: GitRepo, ref: str) -> dict[str, Reach]:
    """What the CI files at `ref` let privileged jobs execute: the reach no change can narrow."""
    out = repo.run("ls-tree", "-r", "--name-only", "--end-of-options", ref, "--", *CI_ROOTS, check=False)
    paths = [p for p in out.decode("utf-8", "replace").splitlines() if ci_kind(p)][:MAX_CI_FILES]

    def read(path: str) -> str | None:
        data = repo.read_file_at(ref, path, max_bytes=1_000_000)
        return data.decode("utf-8", "replace") if data is not None else None

    texts = {p: t for p in paths if (t := read(p)) is not None}
    return reach_of(texts, read)


def _with_ci_reach(repo: GitRepo, tp: TrustedPolicy) -> TrustedPolicy:
    if tp.ref is not None:
        tp.ci_reach = trusted_ci_reach(repo, tp.ref)
    return tp


def _with_baseline(repo: GitRepo, tp: TrustedPolicy, policy_dir: Path | None = None) -> TrustedPolicy:
    """Read the policy's secret baseline from the same trusted place as the policy itself."""
    name = tp.policy.secrets.baseline
    if not name:
        return tp
    data: bytes | None = None
    if policy_dir is not None:  # a server-side policy: its baseline lies beside it on disk
        path = policy_dir / name
        data = path.read_bytes() if path.is_file() else None
        where = str(path)
    elif tp.ref is not None:
        data = repo.read_file_at(tp.ref, name, max_bytes=20_000_000)
        where = f"{name}@{tp.ref[:12]}"
    else:
        where = name
    if data is None:
        tp.notes.append(f"secret baseline {name} not found at the trusted ref: not applied")
        return tp
    tp.baseline = (data.decode("utf-8", "replace"), where)
    return tp


def load_trusted_policy(
    repo: GitRepo,
    base: str | None,
    head: str,
    policy_path: str | None = None,
    trusted_refs: tuple[str, ...] = (),
    exclude_refs: tuple[str, ...] = (),
) -> TrustedPolicy:
    """The policy in force for judging base..head.

    `policy_path` inside the repository is read at the trusted ref like the default files; a path
    outside it (a server's or a central config) is read from disk.
    """
    if policy_path:
        p = Path(policy_path)
        inside = _repo_relative(repo, p)
        if inside is None:
            return _with_trusted_files(
                repo, TrustedPolicy(load_policy_file(p), str(p), None), p.resolve().parent
            )
        names: tuple[str, ...] = (inside,)
    else:
        names = POLICY_FILES
    ref, notes = resolve_trusted_ref(repo, base, head, trusted_refs, exclude_refs)
    if ref is None:
        if policy_path:
            raise UsageError(f"no trusted ref to read {policy_path} at (see notes: {'; '.join(notes)})")
        return TrustedPolicy(builtin_policy(), "builtin:default", None, notes)
    for name in names:
        raw = repo.read_file_at(ref, name, max_bytes=1_000_000)
        if raw is None:
            continue
        where = f"{name}@{ref[:12]}"

        read: list[str] = [name]

        def rel(other: str, _name: str = name, read: list[str] = read) -> str | None:
            target = str(Path(_name).parent / other) if not other.startswith("/") else other.lstrip("/")
            target = posixpath.normpath(target)
            read.append(target)
            data = repo.read_file_at(ref, target, max_bytes=1_000_000)
            return data.decode("utf-8", "replace") if data is not None else None

        policy = build_policy(raw.decode("utf-8", "replace"), where, rel)
        policy.record_sources(tuple(read))
        return _with_trusted_files(repo, TrustedPolicy(policy, where, ref, notes))
    if policy_path:
        raise UsageError(f"policy file {policy_path} does not exist at the trusted ref {ref[:12]}")
    return _with_trusted_files(repo, TrustedPolicy(builtin_policy(), "builtin:default", ref, notes))


def _repo_relative(repo: GitRepo, p: Path) -> str | None:
    """`p` relative to the work tree (relative paths are taken from its root), or None outside it."""
    if repo.bare:
        return None if p.is_absolute() else p.as_posix()
    root = repo.path.resolve()
    full = (root / p).resolve() if not p.is_absolute() else p.resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return None
