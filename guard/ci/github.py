"""GitHub workflows and composite actions as `Job`s (guard/ci/jobs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from guard.ci.jobs import Command, Job, Loc, Perms, _as_str, _lines, _text_commands, norm
from guard.safeyaml import LineDict, LineList


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
