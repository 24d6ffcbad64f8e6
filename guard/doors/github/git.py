"""Make a shallow `actions/checkout` hold what the judgement needs, or say why it cannot.

actions/checkout fetches one commit (the PR merge commit) by default: the PR head, the base and
their merge-base are usually missing. We fetch them by id from `origin`, deepening until the two
histories meet, and fetch the base and default branches as remote-tracking refs so the trusted
policy can be read where the platform protects it. When that is impossible: exit 2, saying how to
check out instead.
"""

from __future__ import annotations

from guard.errors import UsageError
from guard.git.repo import GitRepo

DEPTHS = (50, 400, 3000)
HINT = "check out with `actions/checkout` and `fetch-depth: 0`, or give the job network access to origin"


def _ready(repo: GitRepo, head: str, base: str | None, branch: str | None) -> bool:
    if not repo.exists(head):
        return False
    if base:
        return repo.exists(base) and repo.merge_base(base, head) is not None
    if branch:
        ref = f"refs/remotes/origin/{branch}"  # by full name: a tag `origin/<branch>` must not stand in
        return repo.ref_commit(ref) is not None and repo.merge_base(ref, head) is not None
    return True


def _refspecs(head: str, base: str | None, branches: list[str]) -> list[str]:
    specs = [head] + ([base] if base else [])
    specs += [f"+refs/heads/{b}:refs/remotes/origin/{b}" for b in branches]
    return specs


def ensure_range(
    repo: GitRepo,
    head: str,
    base: str | None,
    *,
    base_branch: str | None,
    default_branch: str | None,
    commits_hint: int = 0,
) -> list[str]:
    """Fetch what is missing for base..head (and the branches the trusted policy lives on)."""
    branches = [b for b in dict.fromkeys([base_branch, default_branch]) if b]
    missing_refs = [b for b in branches if repo.ref_commit(f"refs/remotes/origin/{b}") is None]
    if _ready(repo, head, base, base_branch) and not missing_refs:
        _set_origin_head(repo, default_branch)
        return []
    if repo.proc("remote", "get-url", "origin").returncode != 0:
        if _ready(repo, head, base, base_branch):
            return [f"no origin remote: could not fetch {', '.join(missing_refs)} for the trusted policy"]
        raise UsageError(f"{_what(repo, head, base)} and there is no `origin` remote to fetch from: {HINT}")
    notes: list[str] = []
    last = ""
    depths: tuple[int | None, ...] = (
        tuple(max(d, commits_hint + 1) for d in DEPTHS) if repo.is_shallow else (None,)
    )
    for depth in depths:
        args = ["fetch", "--no-tags", "--quiet", "--no-recurse-submodules"]
        if depth is not None:
            args.append(f"--depth={depth}")
        ok, last = repo.network(*args, "origin", *_refspecs(head, base, missing_refs))
        if not ok and missing_refs:  # a branch may be gone: still try the commits alone
            ok, last = repo.network(*args, "origin", *_refspecs(head, base, []))
        if _ready(repo, head, base, base_branch):
            notes.append("fetched the missing history from origin" + (f" (depth {depth})" if depth else ""))
            _set_origin_head(repo, default_branch)
            return notes
    if repo.is_shallow:
        ok, last = repo.network("fetch", "--no-tags", "--quiet", "--unshallow", "origin")
        if _ready(repo, head, base, base_branch):
            _set_origin_head(repo, default_branch)
            return ["fetched the whole history from origin (--unshallow)"]
    why = f" (git: {last})" if last else ""
    raise UsageError(f"{_what(repo, head, base)}, and fetching from origin did not help{why}: {HINT}")


def _what(repo: GitRepo, head: str, base: str | None) -> str:
    if not repo.exists(head):
        return f"the head {head[:12]} is not in this clone"
    if base and not repo.exists(base):
        return f"the base {base[:12]} is not in this clone" + (" (shallow)" if repo.is_shallow else "")
    return f"the base {base[:12] if base else '(branch)'} and head {head[:12]} share no history here"


def _set_origin_head(repo: GitRepo, default_branch: str | None) -> None:
    """Record the payload's default branch as origin/HEAD when the clone does not know it."""
    if not default_branch or repo.ref_commit(f"refs/remotes/origin/{default_branch}") is None:
        return
    if repo.proc("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").returncode != 0:
        repo.run(
            "symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{default_branch}", check=False
        )
