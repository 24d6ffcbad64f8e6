"""GitLab CI files as `Job`s: includes, `extends:` and `rules:` resolved the way GitLab does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from guard.ci.github import _environment
from guard.ci.jobs import GITLAB_RESERVED, Command, Job, Loc, _as_str, _lines, _text_commands, norm
from guard.safeyaml import LineDict, LineList


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
