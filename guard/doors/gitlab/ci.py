"""GitLab CI's predefined variables -> what is judged (no python-gitlab here: git and env only).

Pipeline shapes: merge-request pipelines judge CI_MERGE_REQUEST_DIFF_BASE_SHA..source head;
branch pipelines judge CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA (a zero before-SHA, a new branch, is
judged from its merge-base with the default branch); tag pipelines judge the tag's commits that
are not on the default branch, plus the tag creation itself (a release boundary).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from guard.errors import UsageError
from guard.git.repo import GitRepo
from guard.model import ZERO_SHA

Kind = Literal["merge_request", "branch", "tag"]
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
DEFAULT_CONFIG = ".gitlab-ci.yml"
EXTRA_CI_FILES = "PIPELINE_GUARD_CI_FILES"  # more files that run the guard (space or comma separated)
MAX_INCLUDED = 50  # local include files followed, across nesting levels


@dataclass(frozen=True)
class Pipeline:
    kind: Kind
    source: str  # CI_PIPELINE_SOURCE: push, merge_request_event, web, schedule...
    head: str
    base: str | None  # None: decide from the default branch (new branch, tag)
    ref: str | None  # pushed branch or tag name (None for merge requests)
    mr_iid: int | None = None
    source_branch: str | None = None
    target_branch: str | None = None
    description: str | None = None  # the MR's title and description
    target_protected: bool = False
    ref_protected: bool = False
    default_branch: str | None = None
    project: str | None = None  # CI_PROJECT_PATH (python-gitlab addresses the project by path)
    project_id: str | None = None
    project_url: str | None = None
    server_url: str | None = None
    user_login: str | None = None
    user_id: str | None = None
    environment: str | None = None
    pipeline_id: str | None = None
    pipeline_created_at: str | None = None
    job_url: str | None = None
    config_path: str = DEFAULT_CONFIG


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _sha(env: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    value = _get(env, name)
    if value is None:
        if required:
            raise UsageError(f"{name} is not set: is this a GitLab CI job? (or pass --base/--head)")
        return None
    if not _SHA.match(value.lower()):
        raise UsageError(f"not a commit id: {value[:80]!r}", where=name)
    return value.lower()


def server_url(env: Mapping[str, str]) -> str | None:
    """The instance root python-gitlab wants (it appends /api/v4 itself)."""
    url = _get(env, "CI_SERVER_URL")
    api = _get(env, "CI_API_V4_URL")
    if api and api.rstrip("/").endswith("/api/v4"):
        url = api.rstrip("/")[: -len("/api/v4")]
    return url


def read_pipeline(env: Mapping[str, str]) -> Pipeline:
    """The pipeline as GitLab describes it; a clear usage error for anything missing or malformed."""
    source = _get(env, "CI_PIPELINE_SOURCE") or "push"
    commit = _sha(env, "CI_COMMIT_SHA", required=True) or ""
    common = Pipeline(
        kind="branch",
        source=source,
        head=commit,
        base=None,
        ref=None,
        default_branch=_get(env, "CI_DEFAULT_BRANCH"),
        project=_get(env, "CI_PROJECT_PATH"),
        project_id=_get(env, "CI_PROJECT_ID"),
        project_url=_get(env, "CI_PROJECT_URL"),
        server_url=server_url(env),
        user_login=_get(env, "GITLAB_USER_LOGIN"),
        user_id=_get(env, "GITLAB_USER_ID"),
        environment=_get(env, "CI_ENVIRONMENT_NAME"),
        pipeline_id=_get(env, "CI_PIPELINE_ID"),
        pipeline_created_at=_get(env, "CI_PIPELINE_CREATED_AT"),
        job_url=_get(env, "CI_JOB_URL"),
        config_path=_get(env, "CI_CONFIG_PATH") or DEFAULT_CONFIG,
    )
    iid_text = _get(env, "CI_MERGE_REQUEST_IID")
    if source == "merge_request_event" or iid_text:
        if not iid_text or not iid_text.isdigit():
            raise UsageError(
                f"a merge-request pipeline needs a numeric IID, got {iid_text!r}",
                where="CI_MERGE_REQUEST_IID",
            )
        base = _sha(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA", required=True)
        # Merged-results pipelines run on a merge commit: judge the source branch's own head.
        head = _sha(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or commit
        return replace(
            common,
            kind="merge_request",
            head=head,
            base=base,
            ref=None,
            mr_iid=int(iid_text),
            source_branch=_get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
            target_branch=_get(env, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
            description="\n\n".join(
                t for t in (env.get("CI_MERGE_REQUEST_TITLE"), env.get("CI_MERGE_REQUEST_DESCRIPTION")) if t
            )
            or None,
            target_protected=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED") == "true",
        )
    tag = _get(env, "CI_COMMIT_TAG")
    if tag:
        return replace(
            common,
            kind="tag",
            ref=tag,
            ref_protected=env.get("CI_COMMIT_REF_PROTECTED") == "true",
        )
    before = _sha(env, "CI_COMMIT_BEFORE_SHA")
    branch = _get(env, "CI_COMMIT_BRANCH") or _get(env, "CI_COMMIT_REF_NAME")
    return replace(
        common,
        base=None if before in (None, ZERO_SHA) else before,
        ref=branch,
        ref_protected=env.get("CI_COMMIT_REF_PROTECTED") == "true",
    )


# ----------------------------------------------------------------------------- git


def ensure_history(repo: GitRepo, head: str, base: str | None, notes: list[str]) -> None:
    """Make base and head (and history joining them) present: fetch once, else exit 2 with a fix."""
    need_fetch = not repo.exists(head) or (base is not None and not repo.exists(base))
    if not need_fetch and base is not None and repo.merge_base(base, head) is None and repo.is_shallow:
        need_fetch = True
    if not need_fetch:
        return
    wanted = [s for s in (head, base) if s and not repo.exists(s)]
    shallow = ["--unshallow"] if repo.is_shallow else []
    ok, _ = repo.network("fetch", "--quiet", "--no-tags", *shallow, "origin", *(wanted or []))
    notes.append(
        f"fetched {'the missing commits' if wanted else 'the full history'} from origin"
        + (" (the clone was shallow)" if shallow else "")
        if ok
        else "fetching the missing history from origin failed"
    )
    for sha, what in ((head, "head"), (base, "base")):
        if sha and not repo.exists(sha):
            raise UsageError(
                f"the {what} commit {sha[:12]} is not in this clone and could not be fetched: "
                "set `GIT_DEPTH: 0` (or a depth that reaches it) for the guard job"
            )
    if base is not None and repo.merge_base(base, head) is None:
        raise UsageError(
            f"base {base[:12]} and head {head[:12]} share no history in this clone: "
            "set `GIT_DEPTH: 0` for the guard job"
        )


def ensure_default_branch(repo: GitRepo, default: str | None, notes: list[str]) -> None:
    """CI clones carry only the pipeline's ref; the trusted policy needs the default branch too."""
    if repo.default_branch() is not None or not default:
        return
    if "\n" in default or default.startswith("-"):
        raise UsageError(f"invalid branch name {default!r}", where="CI_DEFAULT_BRANCH")
    spec = f"+refs/heads/{default}:refs/remotes/origin/{default}"
    if not repo.network("fetch", "--quiet", "--no-tags", "origin", spec)[0]:
        notes.append(f"could not fetch the default branch {default}: the trusted policy is read at the base")


# ----------------------------------------------------------------------------- guard files


def _component_paths(item: object, project: str | None) -> list[str]:
    """A component from this very project lives in its templates/ folder."""
    if not isinstance(item, dict) or not isinstance(item.get("component"), str) or not project:
        return []
    ref = item["component"].split("@", 1)[0]
    for prefix in ("$CI_SERVER_FQDN/$CI_PROJECT_PATH/", "$CI_SERVER_HOST/$CI_PROJECT_PATH/"):
        if ref.startswith(prefix):
            name = ref[len(prefix) :]
            return [f"templates/{name}.yml", f"templates/{name}/template.yml"]
    parts = ref.split("/", 1)
    if len(parts) == 2 and parts[1].startswith(project + "/"):
        name = parts[1][len(project) + 1 :]
        return [f"templates/{name}.yml", f"templates/{name}/template.yml"]
    return []


def _includes(text: str, where: str, project: str | None) -> list[str]:
    from guard.ci.gitlab import gitlab_includes
    from guard.safeyaml import DocumentError, load_yaml_all

    try:
        docs = load_yaml_all(text, where)
    except DocumentError:
        return []  # an unreadable CI file is still a guard file; the permission checks report it
    doc = docs[-1] if docs else None
    out = gitlab_includes(doc)
    if isinstance(doc, dict):
        inc = doc.get("include")
        for item in inc if isinstance(inc, list) else [inc]:
            out.extend(_component_paths(item, project))
    return out


def guard_files(
    repo: GitRepo, revs: list[str], p: Pipeline, extra: str | None, notes: list[str]
) -> tuple[str, ...]:
    """The CI files that define the guard job: the CI config and the local files it includes.

    Read at every side of the change (base and head), so adding or removing an include is seen.
    """
    config = p.config_path
    if "@" in config or config.startswith(("http://", "https://")):
        notes.append(
            f"the CI configuration lives outside this repository ({config}): edits to it are not judged here"
        )
        found: list[str] = []
    else:
        found = [config.lstrip("/")]
    queue = list(found)
    seen: set[str] = set()
    while queue and len(seen) < MAX_INCLUDED:
        path = queue.pop(0)
        if path in seen or "*" in path:
            continue
        seen.add(path)
        for rev in revs:
            raw = repo.read_file_at(rev, path, max_bytes=1_000_000)
            if raw is None:
                continue
            for inc in _includes(raw.decode("utf-8", "replace"), f"{path}@{rev[:12]}", p.project):
                if inc not in found:
                    found.append(inc)
                    queue.append(inc)
    for item in re.split(r"[\s,]+", extra or ""):
        if item and item.lstrip("/") not in found:
            found.append(item.lstrip("/"))
    return tuple(found)
