"""CI configuration as comparable jobs: GitHub workflows, composite actions and GitLab CI.

Both sides of a change (every CI file before, every CI file after) become flat lists of `Job`s
with what each job runs and asks for, and where (file, line). Comparing jobs rather than files is
what makes the checks diff-aware across moves: a job moved to another workflow, split into a
reusable workflow or moved into a GitLab include finds its old self (`CiDiff.counterpart`) and
only what it gained is reported.

Files outside the change are identical on both sides, so they cannot add anything: only the files
the change touches (and GitLab files they include) are read.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from guard.checks.changeio import file_sides, old_path, per_change
from guard.model import Change
from guard.safeyaml import DocumentError, LineDict, LineList, load_yaml_all

Loc = tuple[str, int]  # (path, 1-based line)
LEVELS = {"none": 0, "read": 1, "write": 2}
GITLAB_RESERVED = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
        "spec",
    }
)
_WS = re.compile(r"\s+")


def ci_kind(path: str) -> str | None:
    """'workflow', 'action' or 'gitlab' for files whose format we know by their path."""
    low = path.lower()
    name = low.rsplit("/", 1)[-1]
    if low.startswith(".github/workflows/") and low.endswith((".yml", ".yaml")):
        return "workflow"
    if name in ("action.yml", "action.yaml"):
        return "action"
    if name == ".gitlab-ci.yml" or name.endswith(".gitlab-ci.yml"):
        return "gitlab"
    if low.startswith((".gitlab/ci/", ".gitlab-ci/")) and low.endswith((".yml", ".yaml")):
        return "gitlab"
    return None


def norm(text: str) -> str:
    """Whitespace- and quote-insensitive form, so reformatting compares equal."""
    return _WS.sub(" ", text.replace("'", '"')).strip()


@dataclass(frozen=True)
class Perms:
    """An explicit GitHub `permissions:` block."""

    kind: str  # "map", "write-all", "read-all"
    scopes: tuple[tuple[str, str], ...]
    loc: Loc
    scope_lines: tuple[tuple[str, int], ...] = ()
    workflow_level: bool = False

    def level(self, scope: str) -> int:
        if self.kind == "write-all":
            return 2
        if self.kind == "read-all":
            return 0 if scope == "id-token" else 1
        return LEVELS.get(dict(self.scopes).get(scope, "none"), 2)  # unknown values: assume the worst

    def line_of(self, scope: str) -> int:
        return dict(self.scope_lines).get(scope, self.loc[1])

    def writes(self) -> list[str]:
        return sorted(s for s, _ in self.scopes if self.level(s) == 2)


@dataclass(frozen=True)
class Command:
    """One thing a job runs: a shell line, or an action with its inputs."""

    text: str  # a shell line, or "uses owner/repo" for actions
    loc: Loc
    uses: str | None = None  # action reference as written (with @ref)
    with_: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str | None:
        return self.uses.split("@", 1)[0].lower() if self.uses else None


@dataclass
class Job:
    platform: str  # "github" | "gitlab"
    path: str
    id: str
    loc: Loc
    triggers: dict[str, Loc] = field(default_factory=dict)  # events that start it
    perms: Perms | None = None  # effective explicit block (job, else workflow), None: repository default
    runs_on: list[tuple[str, Loc]] = field(default_factory=list)
    environment: tuple[str, Loc] | None = None
    env_tier: str | None = None
    env_action: str | None = None
    uses: tuple[str, Loc] | None = None  # reusable workflow called by the job
    secrets_inherit: Loc | None = None
    commands: list[Command] = field(default_factory=list)
    # GitLab only
    manual: bool = False
    rules: list[tuple[str, Loc]] = field(default_factory=list)  # normalised conditions that run it
    limited: bool = False  # has rules/only that restrict when it runs
    id_tokens: dict[str, Loc] = field(default_factory=dict)
    secrets: dict[str, Loc] = field(default_factory=dict)
    release: Loc | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.id)

    def signature(self) -> tuple[str, ...]:
        return tuple(c.action or norm(c.text) for c in self.commands)


@dataclass
class CiSide:
    """Every CI file of one side of the change, parsed."""

    jobs: list[Job] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # path -> text (kind in `kinds`)
    kinds: dict[str, str] = field(default_factory=dict)
    errors: dict[str, DocumentError] = field(default_factory=dict)
    callables: set[str] = field(default_factory=set)  # workflows with `on: workflow_call`
    defined_vars: set[str] = field(default_factory=set)  # GitLab `variables:` names set in the files


# ----- small readers over untrusted structures -----


def _lines(d: Any, key: Any, default: int) -> int:
    return d.line_of(key) if isinstance(d, LineDict) else default


def _as_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _triggers(on: Any, path: str, line: int) -> dict[str, Loc]:
    out: dict[str, Loc] = {}
    if isinstance(on, str):
        out[on] = (path, line)
    elif isinstance(on, list):
        for i, ev in enumerate(on):
            out[_as_str(ev)] = (path, on.line_of(i) if isinstance(on, LineList) else line)
    elif isinstance(on, dict):
        for ev, cfg in on.items():
            evs = _as_str(ev)
            out[evs] = (path, _lines(on, ev, line))
            if evs == "push" and isinstance(cfg, dict) and ("tags" in cfg or "tags-ignore" in cfg):
                out["push:tags"] = (path, _lines(cfg, "tags" if "tags" in cfg else "tags-ignore", line))
    if "release" in out:
        out.setdefault("push:tags", out["release"])
    return out


def _perms(v: Any, path: str, line: int, workflow_level: bool) -> Perms:
    if isinstance(v, str):
        kind = v.strip().lower()
        return Perms(
            kind if kind in ("write-all", "read-all") else "write-all", (), (path, line), (), workflow_level
        )
    if isinstance(v, dict):
        scopes = tuple((_as_str(k).lower(), _as_str(x).strip().lower()) for k, x in v.items())
        lines = tuple((_as_str(k).lower(), _lines(v, k, line)) for k in v)
        return Perms("map", scopes, (path, line), lines, workflow_level)
    return Perms("map", (), (path, line), (), workflow_level)


def _disabled(cond: Any) -> bool:
    return cond is False or norm(_as_str(cond)).lower() in ("false", "${{ false }}", "0")


def _text_commands(text: str, path: str, first_line: int) -> Iterator[Command]:
    for i, ln in enumerate(text.splitlines()):
        s = ln.strip()
        if s and not s.startswith("#"):
            yield Command(s, (path, first_line + i))


def _step_commands(step: LineDict, path: str) -> Iterator[Command]:
    if "uses" in step:
        uses = _as_str(step["uses"]).strip()
        w = step.get("with")
        with_ = tuple((_as_str(k), _as_str(v)) for k, v in w.items()) if isinstance(w, dict) else ()
        yield Command(f"uses {uses}", (path, step.line_of("uses")), uses, with_)
        for k, v in with_:  # inputs that are scripts (`args: release`, `run:` of wrapper actions)
            if k in ("args", "script", "command", "run"):
                yield Command(f"{uses.split('@')[0]} {k}: {norm(v)}", (path, step.line_of("with")))
    if "run" in step:
        run = _as_str(step["run"])
        first = step.value_lines.get("run", step.line) + (1 if "run" in step.block_values else 0)
        yield from _text_commands(run, path, first)


def _runs_on(v: Any, path: str, line: int) -> list[tuple[str, Loc]]:
    if isinstance(v, dict):  # {group: ..., labels: [...]}
        out = [(f"group:{_as_str(v['group'])}", (path, line))] if "group" in v else []
        return out + _runs_on(v.get("labels"), path, line)
    if isinstance(v, list):
        return [
            (_as_str(x), (path, v.line_of(i) if isinstance(v, LineList) else line)) for i, x in enumerate(v)
        ]
    return [(_as_str(v), (path, line))] if v is not None else []


def _environment(job: LineDict, path: str) -> tuple[tuple[str, Loc] | None, str | None, str | None]:
    env = job.get("environment")
    loc = (path, job.line_of("environment"))
    if isinstance(env, dict):
        name = _as_str(env.get("name"))
        tier = _as_str(env.get("deployment_tier")).lower() or None
        action = _as_str(env.get("action")).lower() or None
        return ((name, (path, _lines(env, "name", loc[1]))) if name else None), tier, action
    if env is None or env == "":
        return None, None, None
    return (_as_str(env), loc), None, None


# ----- GitHub -----


def parse_workflow(doc: Any, path: str) -> tuple[list[Job], bool]:
    """Jobs of a workflow file, and whether it is callable (`on: workflow_call`)."""
    if not isinstance(doc, LineDict):
        return [], False
    on_key = "on" if "on" in doc else True  # YAML 1.1 reads a bare `on` key as True
    triggers = _triggers(doc.get(on_key), path, doc.line_of(on_key))
    wf_perms = (
        _perms(doc["permissions"], path, doc.line_of("permissions"), True) if "permissions" in doc else None
    )
    jobs_map = doc.get("jobs")
    jobs: list[Job] = []
    if not isinstance(jobs_map, dict):
        return jobs, "workflow_call" in triggers
    for jid, jd in jobs_map.items():
        if not isinstance(jd, LineDict):
            continue
        line = _lines(jobs_map, jid, jd.line)
        perms = (
            _perms(jd["permissions"], path, jd.line_of("permissions"), False)
            if "permissions" in jd
            else wf_perms
        )
        env, tier, action = _environment(jd, path)
        job = Job(
            "github",
            path,
            _as_str(jid),
            (path, line),
            dict(triggers),
            perms,
            _runs_on(jd.get("runs-on"), path, jd.line_of("runs-on")),
            env,
            tier,
            action,
        )
        if "uses" in jd:
            job.uses = (_as_str(jd["uses"]).strip(), (path, jd.line_of("uses")))
            job.commands.append(Command(f"uses {job.uses[0]}", job.uses[1], job.uses[0]))
        if _as_str(jd.get("secrets")).strip().lower() == "inherit":
            job.secrets_inherit = (path, jd.line_of("secrets"))
        if _disabled(jd.get("if")):
            job.commands = []
            jobs.append(job)
            continue
        steps = jd.get("steps")
        if isinstance(steps, list):
            for st in steps:
                if isinstance(st, LineDict) and not _disabled(st.get("if")):
                    job.commands.extend(_step_commands(st, path))
        jobs.append(job)
    return jobs, "workflow_call" in triggers


def parse_action(doc: Any, path: str) -> list[Job]:
    """A composite action's steps as one pseudo-job (docker/node actions run no steps of ours)."""
    if not isinstance(doc, LineDict) or not isinstance(doc.get("runs"), LineDict):
        return []
    runs = doc["runs"]
    job = Job("github", path, "(composite)", (path, doc.line_of("runs")), {"(action)": (path, 1)})
    steps = runs.get("steps")
    if isinstance(steps, list):
        for st in steps:
            if isinstance(st, LineDict) and not _disabled(st.get("if")):
                job.commands.extend(_step_commands(st, path))
    return [job]


# ----- GitLab -----


def _gitlab_doc(docs: list[Any]) -> Any:
    """A CI/CD component file is `spec:` header + `---` + content: the content is the last document."""
    return docs[-1] if docs else None


def gitlab_includes(doc: Any) -> list[str]:
    """Local include paths/globs (without the leading /)."""
    if not isinstance(doc, dict):
        return []
    inc = doc.get("include")
    items = inc if isinstance(inc, list) else [inc]
    out: list[str] = []
    for it in items:
        if isinstance(it, str) and not it.startswith(("http://", "https://")):
            out.append(it.lstrip("/"))
        elif isinstance(it, dict) and isinstance(it.get("local"), str):
            out.append(it["local"].lstrip("/"))
    return out


def _script_commands(v: Any, path: str, line: int) -> Iterator[Command]:
    if isinstance(v, str):
        yield from _text_commands(v, path, line)
    elif isinstance(v, list):
        for i, item in enumerate(v):
            il = v.line_of(i) if isinstance(v, LineList) else line
            if isinstance(v, LineList) and i in v.block_items:
                il += 1
            yield from _script_commands(item, path, il)


_TAG_COND = re.compile(r"(?<![!\w])\$\{?CI_COMMIT_TAG\}?(?!\s*(==|!=)\s*(null|\"\"))")


_REF_RULE = re.compile(r'^(?:if=\$\{?CI_COMMIT_(?:BRANCH|REF_NAME)\}? == "([^"$]+)"|only:([\w./-]+))$')


def _canon(cond: str) -> str:
    """One spelling per condition: `only: [main]` and `if: $CI_COMMIT_BRANCH == "main"` are one rule."""
    c = norm(cond) or "always"
    m = _REF_RULE.match(c)
    return f"ref=={m.group(1) or m.group(2)}" if m else c


def _gitlab_rules(job: LineDict, path: str) -> tuple[list[tuple[str, Loc]], bool, bool, dict[str, Loc]]:
    """(conditions that run the job, limited?, manual?, triggers) from rules / only / except."""
    conds: list[tuple[str, Loc]] = []
    triggers: dict[str, Loc] = {}
    manual = _as_str(job.get("when")).lower() == "manual"
    rules = job.get("rules")
    limited = False
    if isinstance(rules, list):
        limited = True
        running = []
        for i, r in enumerate(rules):
            rl = (path, rules.line_of(i) if isinstance(rules, LineList) else job.line)
            if not isinstance(r, dict):
                continue
            when = _as_str(r.get("when", "on_success")).lower()
            if when == "never":
                continue
            running.append(when)
            cond = _canon(" ".join(f"{k}={_as_str(r[k])}" for k in ("if", "changes", "exists") if k in r))
            conds.append((cond, rl))
            if _TAG_COND.search(cond):
                triggers.setdefault("push:tags", rl)
            if '"schedule"' in cond or "== schedule" in cond:
                triggers.setdefault("schedule", rl)
        if running and all(w == "manual" for w in running):
            manual = True
    for key in ("only", "except"):
        v = job.get(key)
        if v is None:
            continue
        limited = True
        refs = v.get("refs", []) if isinstance(v, dict) else v
        refs = refs if isinstance(refs, list) else [refs]
        for r in refs:
            cond = _canon(f"{key}:{_as_str(r)}")
            loc = (path, job.line_of(key))
            conds.append((cond, loc))
            if (key == "only" and _as_str(r) in ("tags", "/^v.*/")) or _as_str(r).startswith("/^v"):
                triggers.setdefault("push:tags", loc)
            if key == "only" and _as_str(r) in ("schedules",):
                triggers.setdefault("schedule", loc)
    return conds, limited, manual, triggers


def _deep_merge(base: LineDict, over: LineDict) -> LineDict:
    out = LineDict(base)
    out.line, out.key_lines = over.line, {**base.key_lines, **over.key_lines}
    out.value_lines = {**base.value_lines, **over.value_lines}
    out.block_values = base.block_values | over.block_values
    out.origin = {**getattr(base, "origin", {}), **getattr(over, "origin", {})}  # type: ignore[attr-defined]
    for k, v in over.items():
        out[k] = (
            _deep_merge(base[k], v) if isinstance(v, LineDict) and isinstance(base.get(k), LineDict) else v
        )
    return out


def _tag_origin(d: LineDict, path: str) -> LineDict:
    d.origin = {k: path for k in d}  # type: ignore[attr-defined]
    return d


def _resolve_extends(name: str, defs: dict[str, LineDict], depth: int = 0) -> LineDict:
    """GitLab `extends:` (up to 11 levels, as GitLab allows): templates first, the job's own keys win."""
    job = defs[name]
    ext = job.get("extends")
    if depth > 10 or ext is None:
        return job
    parents = ext if isinstance(ext, list) else [ext]
    merged = LineDict()
    merged.origin = {}  # type: ignore[attr-defined]
    for p in parents:
        p = _as_str(p)
        if p in defs and p != name:
            merged = _deep_merge(merged, _resolve_extends(p, defs, depth + 1))
    return _deep_merge(merged, job)


def parse_gitlab(docs: dict[str, Any]) -> list[Job]:
    """Jobs of a set of GitLab files (a pipeline is the merge of its includes), extends resolved."""
    defs: dict[str, LineDict] = {}
    key_lines: dict[str, int] = {}
    for path, doc in docs.items():
        if not isinstance(doc, LineDict):
            continue
        for name, jd in doc.items():
            if isinstance(jd, LineDict) and _as_str(name) not in GITLAB_RESERVED:
                defs[_as_str(name)] = _tag_origin(jd, path)
                key_lines[_as_str(name)] = doc.line_of(name)
    jobs: list[Job] = []
    for name in defs:
        if name.startswith("."):
            continue  # hidden templates run only through jobs that extend them
        jd = _resolve_extends(name, defs)
        origin: dict[Any, str] = getattr(jd, "origin", {})
        own = getattr(defs[name], "origin", {})
        path = next(iter(own.values()), "") if own else ""

        def loc(key: str, jd: LineDict = jd, origin: dict[Any, str] = origin, path: str = path) -> Loc:
            return (origin.get(key, path), jd.line_of(key))

        env, tier, action = _environment(jd, origin.get("environment", path))
        conds, limited, manual, triggers = _gitlab_rules(jd, origin.get("rules", path))
        job = Job(
            "gitlab",
            path,
            name,
            (path, key_lines[name]),
            triggers,
            env_tier=tier,
            env_action=action,
            environment=env,
            manual=manual,
            rules=conds,
            limited=limited,
        )
        tags = jd.get("tags")
        if isinstance(tags, list):
            job.runs_on = [(_as_str(t), loc("tags")) for t in tags]
        for key, target in (("id_tokens", job.id_tokens), ("secrets", job.secrets)):
            v = jd.get(key)
            if isinstance(v, dict):
                for k in v:
                    target[_as_str(k)] = (origin.get(key, path), _lines(v, k, jd.line_of(key)))
        if isinstance(jd.get("release"), dict):
            job.release = loc("release")
        for key in ("before_script", "script", "after_script"):
            if key in jd:
                first = jd.value_lines.get(key, jd.line) + (1 if key in jd.block_values else 0)
                job.commands.extend(_script_commands(jd[key], origin.get(key, path), first))
        if jd.get("image") is not None:
            img = jd["image"].get("name") if isinstance(jd["image"], dict) else jd["image"]
            job.commands.append(Command(f"image {_as_str(img)}", loc("image")))
        jobs.append(job)
    return jobs


# ----- both sides -----


class _SideTexts:
    """One side's file texts, read only for the paths asked for: a change of 300 source files and
    one workflow reads one blob, not 600."""

    def __init__(self, change: Change, old: bool) -> None:
        self.change = change
        self.old = old
        self.by_path = {(old_path(f) if old else f.path): f for f in change.files}
        self.texts: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def read(self, path: str) -> str | None:
        """The text at `path` on this side; None when absent or unreadable (the reason in errors)."""
        if path in self.texts:
            return self.texts[path]
        f = self.by_path.get(path)
        if f is None or path in self.errors:
            return None
        sides = file_sides(self.change, f)
        text = sides.old if self.old else sides.new
        if text is not None:
            self.texts[path] = text
        elif (f.old_blob if self.old else f.new_blob) is not None and sides.error:
            self.errors[path] = sides.error
        return text


def _defined_vars(doc: Any) -> set[str]:
    """Names given a value in the file itself (top level or in a job): not secrets from settings."""
    if not isinstance(doc, dict):
        return set()
    jobs = [j for j in doc.values() if isinstance(j, dict)]
    # id_tokens and secrets: the job defines these variables itself (from the IdP / the vault)
    blocks = [doc.get("variables")] + [j.get(k) for j in jobs for k in ("variables", "id_tokens", "secrets")]
    return {_as_str(k) for b in blocks if isinstance(b, dict) for k in b}


def build_side(change: Change, old: bool) -> CiSide:
    """Parse every CI file of one side; GitLab includes are followed among the changed files."""
    side = CiSide()
    candidates = {f.path if not old else old_path(f) for f in change.files}
    kinds = {p: k for p in candidates if (k := ci_kind(p))}
    texts = _SideTexts(change, old)
    docs: dict[str, list[Any]] = {}

    def parse(path: str) -> None:
        if path in docs or path in side.errors:
            return
        text = texts.read(path)
        if path in texts.errors:
            side.errors[path] = DocumentError(texts.errors[path], path)
            return
        if text is None:
            return
        try:
            docs[path] = load_yaml_all(text, path)
        except DocumentError as e:
            side.errors[path] = e

    for p in kinds:
        parse(p)
    # Follow local includes (to a fixpoint): an included file is GitLab CI wherever it lives.
    for _ in range(5):
        patterns = [
            pat
            for p, k in kinds.items()
            if k == "gitlab" and p in docs
            for pat in gitlab_includes(_gitlab_doc(docs[p]))
        ]
        new = {
            p for p in candidates if p not in kinds and any(fnmatch.fnmatchcase(p, pat) for pat in patterns)
        }
        if not new:
            break
        for p in new:
            kinds[p] = "gitlab"
            parse(p)
    side.kinds = kinds
    side.texts = {p: texts.texts[p] for p in kinds if p in texts.texts}
    gitlab: dict[str, Any] = {}
    for path, kind in sorted(kinds.items()):
        if path not in docs:
            continue
        if kind == "workflow":
            jobs, callable_ = parse_workflow(_gitlab_doc(docs[path]), path)
            side.jobs.extend(jobs)
            if callable_:
                side.callables.add(path)
        elif kind == "action":
            side.jobs.extend(parse_action(_gitlab_doc(docs[path]), path))
        else:
            gitlab[path] = _gitlab_doc(docs[path])
            side.defined_vars |= _defined_vars(gitlab[path])
    side.jobs.extend(parse_gitlab(gitlab))
    return side


@dataclass
class CiDiff:
    """Base and head sides, with job matching across moves, renames and splits."""

    base: CiSide
    head: CiSide
    renames: dict[str, str]  # head path -> base path

    def __post_init__(self) -> None:
        self._base_at = {j.key: j for j in self.base.jobs}
        self._head_at = {j.key: j for j in self.head.jobs}
        self._callers = {
            j.uses[0].lstrip("./"): j for j in self.head.jobs if j.uses and j.uses[0].startswith("./")
        }
        self._vacated = [b for b in self.base.jobs if b.platform == "github" and self._moved_away(b)]

    def _moved_away(self, b: Job) -> bool:
        """A base job whose place is now empty, or only calls a local reusable workflow."""
        h = self._head_at.get((self._forward(b.path), b.id))
        return h is None or (h.uses is not None and h.uses[0].startswith("./") and not h.commands[1:])

    def _forward(self, base_path: str) -> str:
        for new, old in self.renames.items():
            if old == base_path:
                return new
        return base_path

    def base_workflow_perms(self, job: Job) -> Perms | None:
        """The workflow-level block the head job's workflow already had in the base, if any."""
        path = self.renames.get(job.path, job.path)
        return next(
            (b.perms for b in self.base.jobs if b.path == path and b.perms and b.perms.workflow_level), None
        )

    def moved_within_file(self, job: Job, has: Callable[[Job], bool]) -> bool:
        """A rewritten release workflow: its jobs are split or renamed, and a grant the file's base
        jobs held passes to new jobs. Not new when no more jobs of the file hold it than before."""
        path = self.renames.get(job.path, job.path)
        before = sum(1 for b in self.base.jobs if b.path == path and has(b))
        now = sum(1 for h in self.head.jobs if h.path == job.path and has(h))
        return before > 0 and now <= before

    def counterpart(self, job: Job) -> Job | None:
        """The base job this head job was: same place, else (GitLab) same name, else a moved job."""
        same = self._base_at.get((self.renames.get(job.path, job.path), job.id))
        if same is not None:
            return same
        if job.platform == "gitlab":  # job names are global across a pipeline's includes
            return next((b for b in self.base.jobs if b.platform == "gitlab" and b.id == job.id), None)
        sig = job.signature()
        caller = self._callers.get(job.path)
        for b in self._vacated:
            if b.id == job.id or (sig and b.signature() == sig):
                return b
            if caller is not None and (self.renames.get(caller.path, caller.path), caller.id) == b.key:
                return b
        return None


def ci_diff(change: Change) -> CiDiff:
    def compute() -> CiDiff:
        renames = {f.path: f.old_path for f in change.files if f.old_path and f.old_path != f.path}
        return CiDiff(build_side(change, old=True), build_side(change, old=False), renames)

    return per_change(change, "ci_diff", compute)
