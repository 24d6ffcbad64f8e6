"""Configs that run code when a folder is opened, a container is created or a commit is made.

An agent that cannot widen its own permissions can still get code run on the next person's
machine: a VS Code task with `runOptions.runOn: folderOpen`, a dev container lifecycle command, a
Gitpod task, or a git hook manager (husky, pre-commit, lefthook, a `core.hooksPath` folder). The
`agent-config` path group gates every change to these files; this module says *why* a change runs
code. Only entries the change adds or alters count (compared whole, so reformatting does not).
Messages name the task, key or hook, never the command (it may carry a token or a URL).
Paths are recognised NFC-normalised and case-folded, as macOS and Windows checkouts open them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from guard.checks.changeio import Candidate, candidate, file_sides
from guard.globs import fold_path
from guard.model import Change, FileChange
from guard.safeyaml import DocumentError, load_json, load_yaml

TASKS = re.compile(r"(^|/)\.vscode/tasks\.json$")
DEVCONTAINER = re.compile(r"(^|/)(\.devcontainer(/[^/]+)?/\.?devcontainer\.json|\.devcontainer\.json)$")
GITPOD = re.compile(r"(^|/)\.gitpod\.ya?ml$")
PRE_COMMIT = re.compile(r"(^|/)\.pre-commit-config\.ya?ml$")
LEFTHOOK = re.compile(r"(^|/)(\.config/)?\.?lefthook(-local)?\.(ya?ml|json)$")
HOOK_FILES = (  # judged whole: any change to their content runs new code
    (re.compile(r"(^|/)(\.config/)?\.?lefthook(-local)?\.toml$"), "lefthook"),
    (re.compile(r"(^|/)\.husky/(.+/)?([^/]+)$"), "husky"),
    (re.compile(r"(^|/)\.lefthook(-local)?/(.+/)?([^/]+)$"), "lefthook"),
    (re.compile(r"(^|/)\.githooks/(.+/)?([^/]+)$"), "core.hooksPath"),
)
LIFECYCLE = {
    "initializeCommand": "runs a command on the host before the dev container is created",
    "onCreateCommand": "runs a command when the dev container is created",
    "updateContentCommand": "runs a command when the dev container is created",
    "postCreateCommand": "runs a command when the dev container is created",
    "postStartCommand": "runs a command each time the dev container starts",
    "postAttachCommand": "runs a command each time a tool attaches to the dev container",
}


def _c(category: str, message: str, path: str, line: int | None) -> Candidate:
    return candidate("permission", category, message, (path, line))


def _sig(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _line(text: str, needle: str) -> int:
    i = text.find(needle)
    return text.count("\n", 0, i) + 1 if i >= 0 else 1


def _parse(text: str | None, path: str) -> Any:
    if text is None:
        return None
    low = fold_path(path)
    if low.endswith(".json"):
        return load_json(text, path, comments=True)
    return load_yaml(text, path)


def _tasks(doc: Any) -> list[dict[str, Any]]:
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    return [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []


def _on_open(task: dict[str, Any]) -> bool:
    opts = task.get("runOptions")
    return isinstance(opts, dict) and str(opts.get("runOn", "")).lower() == "folderopen"


def _task_candidates(path: str, old: Any, new: Any, text: str) -> Iterator[Candidate]:
    before = {_sig(t) for t in _tasks(old) if _on_open(t)}
    for i, task in enumerate(_tasks(new), 1):
        if not _on_open(task) or _sig(task) in before:
            continue
        label = str(task.get("label") or task.get("taskName") or f"#{i}")
        yield _c(
            "runs-on-open",
            f"task `{label}` runs when the folder is opened (`runOptions.runOn: folderOpen`)",
            path,
            _line(text, json.dumps(label)) if task.get("label") else _line(text, "folderOpen"),
        )


def _keyed_candidates(
    path: str, old: Any, new: Any, text: str, keys: dict[str, str], category: str
) -> Iterator[Candidate]:
    old_d = old if isinstance(old, dict) else {}
    for key, why in keys.items():
        present = isinstance(new, dict) and new.get(key) not in (None, "", [], {})
        if present and (key not in old_d or _sig(old_d[key]) != _sig(new[key])):
            yield _c(category, f"`{key}` {why}", path, _line(text, key))


def _pre_commit_hooks(doc: Any) -> dict[str, tuple[str, str]]:
    """signature -> (hook id, where it comes from) for every hook of a .pre-commit-config.yaml.

    The `rev` is not part of the signature: `pre-commit autoupdate` is a dependency bump, which
    the path rule still gates for agents; a new hook, a new source or a new `entry` is reported.
    """
    out: dict[str, tuple[str, str]] = {}
    repos = doc.get("repos") if isinstance(doc, dict) else None
    for r in repos if isinstance(repos, list) else []:
        if not isinstance(r, dict):
            continue
        src = re.sub(r"//[^/@]*@", "//", str(r.get("repo", "?")).split("?", 1)[0])
        hooks = r.get("hooks")
        for h in hooks if isinstance(hooks, list) else []:
            if isinstance(h, dict):
                out[_sig([r.get("repo"), h])] = (str(h.get("id", "?")), src)
    return out


def _pre_commit_candidates(path: str, old: Any, new: Any, text: str) -> Iterator[Candidate]:
    before = set(_pre_commit_hooks(old))
    for sig, (hook, src) in _pre_commit_hooks(new).items():
        if sig not in before:
            yield _c(
                "git-hook",
                f"hook `{hook}` from `{src}` added or changed: it runs on git commit (pre-commit)",
                path,
                _line(text, hook),
            )


def _lefthook_candidates(path: str, old: Any, new: Any, text: str) -> Iterator[Candidate]:
    old_d = old if isinstance(old, dict) else {}
    for key, value in new.items() if isinstance(new, dict) else []:
        if key in old_d and _sig(old_d[key]) == _sig(value):
            continue
        if key in ("remotes", "extends"):
            why = "pulls hook configuration from elsewhere"
        elif isinstance(value, dict):
            why = f"runs commands on git `{key}`"
        else:
            continue
        yield _c("git-hook", f"`{key}` added or changed: it {why} (lefthook)", path, _line(text, str(key)))


def _hook_script(change: Change, f: FileChange, low: str) -> Iterator[Candidate]:
    for pattern, manager in HOOK_FILES:
        m = pattern.search(low)
        if m:
            sides = file_sides(change, f)
            if sides.new != sides.old or f.mode_changed:
                name = f.path.rsplit("/", 1)[-1]
                yield _c(
                    "git-hook",
                    f"`{name}` added or changed: it runs on git operations ({manager})",
                    f.path,
                    1,
                )
            return


Parser = Any
_PARSED: tuple[tuple[re.Pattern[str], Parser], ...] = (
    (TASKS, _task_candidates),
    (DEVCONTAINER, lambda p, o, n, t: _keyed_candidates(p, o, n, t, LIFECYCLE, "runs-on-open")),
    (
        GITPOD,
        lambda p, o, n, t: _keyed_candidates(
            p, o, n, t, {"tasks": "run when a Gitpod workspace starts"}, "runs-on-open"
        ),
    ),
    (PRE_COMMIT, _pre_commit_candidates),
    (LEFTHOOK, _lefthook_candidates),
)


def run_on_open_candidates(change: Change, f: FileChange) -> Iterator[Candidate]:
    low = fold_path(f.path)
    parser = next((fn for pattern, fn in _PARSED if pattern.search(low)), None)
    if parser is None:
        yield from _hook_script(change, f, low)
        return
    sides = file_sides(change, f)
    if sides.new is None:
        yield _c("unparseable", f"configuration that runs code cannot be read: {sides.error}", f.path, None)
        return
    try:
        new = _parse(sides.new, f.path)
    except DocumentError as e:
        why = f"configuration that runs code cannot be parsed: {e.reason}"
        yield _c("unparseable", why, f.path, e.line or 1)
        return
    try:
        old = _parse(sides.old, f.path)
    except DocumentError:
        old = None  # the base was broken: everything in the head is new
    yield from parser(f.path, old, new, sides.new)
