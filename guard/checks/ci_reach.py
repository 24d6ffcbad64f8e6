"""Transitive reach: files that privileged CI jobs execute are CI configuration too.

A release job with write scopes, `id-token: write`, secrets or a protected environment that runs
`./scripts/release.sh`, `uses: ./ci/deploy`, `make publish`, `docker build`, `npm run x` or a
GitLab `include: local:` file hands whoever edits those files its privileges. Reach is derived
from the CI files at the *trusted ref* (set by the engine, never read from the change: an agent
could drop the `run:` line and edit the script in one change), and also from both sides of the
CI files the change touches (so a privileged reference added in the same change counts).

Categories: `ci-reach` (a reached file changed), `ci-reach-exfiltration` (an added line in it
sends the environment or a secret somewhere) and, kind release, `ci-reach-force-push`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from guard.checks.changeio import Candidate, candidate, file_sides, per_change
from guard.checks.ci_diff import ci_diff
from guard.ci.github import parse_action, parse_workflow
from guard.ci.gitlab import gitlab_includes, parse_gitlab
from guard.ci.jobs import Job, ci_kind, norm
from guard.model import Change, FileChange
from guard.safeyaml import DocumentError, load_yaml_all

Reader = Callable[[str], str | None]
MAX_DEPTH = 3  # local actions calling local actions: bounded
_SECRET = re.compile(r"\$\{\{\s*secrets\.|\bsecrets\s*:\s*inherit\b")
_PROTECTED_RULE = re.compile(
    r"CI_COMMIT_TAG|CI_DEFAULT_BRANCH|==\s*\"?(main|master)\b|ref==(main|master|tags)"
)
_SCRIPT = re.compile(
    r"(?:^|[\s;&|(`])(?:(?:bash|sh|zsh|dash|python3?|node|ruby|perl|pwsh|deno\s+run|tsx|ts-node)"
    r"(?:\s+-\S+)*\s+)?(\.{0,2}/?[\w.-]*[\w-]/[\w./-]+|\./[\w./-]+|[\w-]+\.(?:sh|py|js|mjs|ts|rb|pl|ps1))"
)
_INTERP = re.compile(r"^(?:bash|sh|zsh|dash|python3?|node|ruby|perl|pwsh|tsx|ts-node)$")
_MAKE = re.compile(r"(?:^|[\s;&|(])make\b((?:\s+-[Cf]\s*\S+|\s+\S+)*)")
_DOCKER = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b(.*)")
_NPM = re.compile(r"\b(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?[\w:.-]+")
_EXFIL = re.compile(
    r"\b(?:curl|wget|nc|ncat|http|Invoke-WebRequest)\b.*(?:\$\{?\w*(?:TOKEN|SECRET|PASS|KEY|CRED)\w*|"
    r"secrets\.|\$\(\s*(?:env|printenv)\b|/proc/self/environ)"
    r"|\b(?:env|printenv|set)\s*\|"
    r"|^\s*(?:env|printenv)\s*(?:>|$)"
    r"|/proc/self/environ",
    re.I,
)
_FORCE_PUSH = re.compile(
    r"\bgit\s+push\b.*(?:\s--force\b|\s-f\b|--force-with-lease|\s--mirror\b|\s\+[\w/.*-]+)"
)


@dataclass(frozen=True)
class Reach:
    """Why a file is reached: the privileged job and where it runs the file."""

    job: str
    where: str  # "path:line"
    why: str  # what makes the job privileged


def _privilege(job: Job, text: str) -> str | None:
    if job.perms is not None and (job.perms.kind == "write-all" or job.perms.writes()):
        return "write scopes"
    if job.environment:
        return f"environment `{job.environment[0]}`"
    if job.id_tokens or job.secrets or job.release or job.secrets_inherit:
        return "credentials"
    if "push:tags" in job.triggers or "release" in job.triggers:
        return "release/tag trigger"
    if any(_SECRET.search(c.text) or any(_SECRET.search(v) for _, v in c.with_) for c in job.commands):
        return "secrets"
    if job.platform == "github" and _SECRET.search(_job_text(job, text)):
        return "secrets"
    if job.platform == "gitlab" and job.limited and any(_PROTECTED_RULE.search(c) for c, _ in job.rules):
        return "protected-only rules"
    return None


def _job_text(job: Job, text: str) -> str:
    """The job's own lines (its `env:` blocks hold secrets the command lines do not show)."""
    lines = text.splitlines()
    start = job.loc[1]
    indent = len(lines[start - 1]) - len(lines[start - 1].lstrip()) if 0 < start <= len(lines) else 0
    out = []
    for ln in lines[start:]:
        if ln.strip() and len(ln) - len(ln.lstrip()) <= indent:
            break
        out.append(ln)
    return "\n".join(out)


def _clean(p: str, base: str = "") -> str | None:
    p = posixpath.normpath(posixpath.join(base, p.strip("'\"")))
    return None if p.startswith("..") or p in (".", "") or "$" in p else p.lstrip("/")


def run_targets(line: str, workdir: str = "") -> Iterator[str]:
    """Local files a shell line executes (scripts, Makefile, Dockerfile, package.json)."""
    for m in _SCRIPT.finditer(line):
        tok = m.group(1)
        explicit = m.group(0).strip() != tok or tok.startswith("./")
        if explicit and not _INTERP.match(tok) and (p := _clean(tok, workdir)):
            yield p
    if mk := _MAKE.search(line):
        args, d, f = mk.group(1).split(), "", "Makefile"
        for i, a in enumerate(args):
            if a in ("-C", "-f") and i + 1 < len(args):
                d, f = (args[i + 1], f) if a == "-C" else (d, args[i + 1])
        if p := _clean(posixpath.join(d, f), workdir):
            yield p
    if dk := _DOCKER.search(line):
        args = dk.group(1).split()
        df = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--file")), None)
        ctx = next((a for a in reversed(args) if not a.startswith("-")), ".")
        if p := _clean(df or posixpath.join(ctx, "Dockerfile"), workdir):
            yield p
    if _NPM.search(line) and (p := _clean("package.json", workdir)):
        yield p


def _job_targets(job: Job, read: Reader, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(reached path, where it is referenced) for one job, recursing into local actions."""
    for c in job.commands:
        where = f"{c.loc[0]}:{c.loc[1]}"
        if c.uses is not None:
            if not c.uses.startswith("./"):
                w = dict(c.with_)  # docker/build-push-action and friends build a local Dockerfile
                if "file" in w or "context" in w:
                    ctx = w.get("context", ".")
                    if p := _clean(w.get("file") or posixpath.join(ctx, "Dockerfile")):
                        yield p, where
                continue
            target = _clean(c.uses.split("@")[0])
            if target is None:
                continue
            if target.endswith((".yml", ".yaml")):
                yield target, where
                yield from _file_targets(target, read, depth + 1, where, workflow=True)
                continue
            for name in ("action.yml", "action.yaml"):
                ap = f"{target}/{name}"
                if read(ap) is not None:
                    yield ap, where
                    yield from _file_targets(ap, read, depth + 1, where)
                    break
            else:
                yield f"{target}/action.yml", where
        else:
            for p in run_targets(c.text):
                yield p, where


def _file_targets(
    path: str, read: Reader, depth: int, where: str, workflow: bool = False
) -> Iterator[tuple[str, str]]:
    """Everything a local action or reusable workflow runs (the caller's privileges flow in)."""
    text = read(path)
    if text is None or depth > MAX_DEPTH:
        return
    try:
        docs = load_yaml_all(text, path)
    except DocumentError:
        return
    doc = docs[-1] if docs else None
    jobs = parse_workflow(doc, path)[0] if workflow else parse_action(doc, path)
    for j in jobs:
        for p, _ in _job_targets(j, read, depth):
            yield p, where


def reach_of(texts: dict[str, str], read: Reader) -> dict[str, Reach]:
    """Files executed by privileged jobs of the given CI files (path -> why)."""
    out: dict[str, Reach] = {}
    gitlab: dict[str, object] = {}
    for path, text in sorted(texts.items()):
        kind = ci_kind(path)
        try:
            docs = load_yaml_all(text, path)
        except DocumentError:
            continue
        doc = docs[-1] if docs else None
        if kind == "workflow":
            for job in parse_workflow(doc, path)[0]:
                if why := _privilege(job, text):
                    for p, where in _job_targets(job, read):
                        out.setdefault(p, Reach(job.id, where, why))
        elif kind == "gitlab":
            gitlab[path] = doc
            for pat in gitlab_includes(doc):  # included files are the pipeline's CI configuration
                if "*" in pat:
                    continue
                out.setdefault(pat, Reach("(include)", f"{path}:1", "GitLab `include: local:`"))
                inc = read(pat)
                if inc is not None and pat not in texts:
                    try:
                        idocs = load_yaml_all(inc, pat)
                    except DocumentError:
                        continue
                    gitlab[pat] = idocs[-1] if idocs else None
    for job in parse_gitlab(gitlab):
        if why := _privilege(job, ""):
            for p, where in _job_targets(job, read):
                out.setdefault(p, Reach(job.id, where, why))
    return out


# ----- the judged change -----


def _change_reach(change: Change, trusted: Mapping[str, Reach]) -> dict[str, Reach]:
    diff = ci_diff(change)
    out: dict[str, Reach] = dict(trusted)
    for side, old in ((diff.base, True), (diff.head, False)):
        by_path = {(f.old_path or f.path) if old else f.path: f for f in change.files}

        def read(p: str, by_path: dict[str, FileChange] = by_path, old: bool = old) -> str | None:
            f = by_path.get(p)
            if f is None:
                return None
            s = file_sides(change, f)
            return s.old if old else s.new

        for p, r in reach_of(side.texts, read).items():
            out.setdefault(p, r)
    return out


def _added(old: str | None, new: str | None, elsewhere: set[str]) -> Iterator[tuple[int, str]]:
    """Lines of `new` that neither `old` nor another reached file already had (verbatim moves)."""
    had = {norm(x) for x in (old or "").splitlines()} | elsewhere
    for i, ln in enumerate((new or "").splitlines(), 1):
        if norm(ln) and norm(ln) not in had:
            yield i, ln


def reach_candidates(change: Change, trusted: Mapping[str, Reach] | None = None) -> list[Candidate]:
    """`trusted`: the reach derived at the trusted ref (trusted.py, via CheckContext.ci_reach)."""
    reach, diff = _change_reach(change, trusted or {}), ci_diff(change)
    hit = [(f, p) for f in change.files for p in dict.fromkeys(f.paths) if p in reach]
    if not hit:
        return []
    base_lines: set[str] = set()
    for f, _ in hit:
        base_lines |= {norm(x) for x in (file_sides(change, f).old or "").splitlines()}
    out: list[Candidate] = []
    for f, p in hit:
        r = reach[p]
        # Workflows and GitLab files the change's own CI model parses are judged diff-aware by
        # permissions.py (moves and renames stay silent); everything else reached is new ground.
        parsed = "gitlab" in (diff.head.kinds.get(p), diff.base.kinds.get(p))
        if not (parsed or ci_kind(p) == "workflow"):
            out.append(
                candidate(
                    "permission",
                    "ci-reach",
                    f"`{p}` is executed by privileged CI job `{r.job}` ({r.why}, at {r.where}): "
                    "changing it changes what runs with those privileges",
                    (p, 1),
                )
            )
        if p != f.path:
            continue
        s = file_sides(change, f)
        others = base_lines - {norm(x) for x in (s.old or "").splitlines()}
        for line, text in _added(s.old, s.new, others):
            if _EXFIL.search(text):
                out.append(
                    candidate(
                        "permission",
                        "ci-reach-exfiltration",
                        f"line added to `{p}` (run by privileged job `{r.job}`) sends the environment "
                        "or a secret out",
                        (p, line),
                    )
                )
            if _FORCE_PUSH.search(text):
                out.append(
                    candidate(
                        "release",
                        "ci-reach-force-push",
                        f"line added to `{p}` (run by privileged job `{r.job}`) force-pushes",
                        (p, line),
                    )
                )
    return out


def candidates(change: Change, trusted: Mapping[str, Reach] | None = None) -> list[Candidate]:
    return per_change(change, "ci_reach", lambda: reach_candidates(change, trusted))
