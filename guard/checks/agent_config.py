"""Agent tool configuration: an agent widening its own powers.

Claude Code settings (`permissions.allow`, `defaultMode`, hooks), MCP server lists (`.mcp.json`,
`.vscode/mcp.json`, `.cursor/mcp.json`, Gemini/Codex configs), editor auto-approve settings,
Copilot's firewall variables, and agent instruction files. Each side is parsed and flattened into
leaves, so only leaves the change *adds* (a new allow rule, a new server, a new `true`) count;
key order, formatting and comments never do. Messages name the rule or server, never env values,
URL query strings or command arguments beyond the package name (they may carry tokens).
Files are recognised by their NFC-normalised, case-folded path (`.Claude/settings.json` is what a
macOS or Windows checkout opens as `.claude/settings.json`). Configs that run code on open, create
or commit (VS Code tasks, dev containers, git hook managers) are read in `run_on_open.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from guard.checks.changeio import Candidate, candidate, file_sides
from guard.checks.run_on_open import run_on_open_candidates
from guard.ci.jobs import truthy
from guard.diff import added_lines
from guard.globs import fold_path
from guard.model import Change, FileChange
from guard.safeyaml import DocumentError, load_json

JSON_CONFIGS = (
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".mcp.json",
    ".vscode/mcp.json",
    ".vscode/settings.json",
    ".cursor/mcp.json",
    ".cursor/cli.json",
    ".gemini/settings.json",
    ".amazonq/mcp.json",
    ".roo/mcp.json",
    ".kiro/settings/mcp.json",
    ".windsurf/mcp_config.json",
    ".continue/config.json",
    ".github/copilot/mcp.json",
)
TOML_CONFIGS = (".codex/config.toml",)
INSTRUCTIONS = re.compile(
    r"(^|/)(AGENTS\.md|CLAUDE\.md|CLAUDE\.local\.md|GEMINI\.md|\.cursorrules|\.windsurfrules"
    r"|\.github/copilot-instructions\.md|\.github/instructions/.+|\.cursor/rules/.+|\.claude/(agents|commands)/.+"
    r"|\.windsurf/rules/.+|\.clinerules(/.+)?)$",
    re.I,
)
COPILOT_SETUP = re.compile(r"(^|/)\.github/workflows/copilot-setup-steps\.ya?ml$", re.I)
SERVER_KEYS = ("mcpServers", "servers", "mcp_servers", "context_servers")
RISKY_MODES = {"acceptedits", "bypasspermissions", "dontask", "auto", "yolo", "full-auto", "never"}
HOOK_KEYS = {"command", "apikeyhelper", "awsauthrefresh", "awscredentialexport", "otelheadershelper"}
_AUTO = re.compile(r"auto.?approve|auto.?accept|auto.?run|always.?allow|allow.?list|yolo|^trust$", re.I)
_GRANT = re.compile(
    r"^(allow|allowed|allowedtools|coretools|additionaldirectories|enabledmcpjsonservers)$", re.I
)
_FIREWALL = re.compile(r"COPILOT_AGENT_FIREWALL\w*")
_TOML_RISK = re.compile(
    r'^\s*(approval_policy\s*=\s*"(never|on-failure)"|sandbox_mode\s*=\s*"danger-full-access"'
    r"|\[mcp_servers\.[^\]]+\])",
    re.M,
)

Leaf = tuple[tuple[str, ...], Any]


def _matches(path: str, names: tuple[str, ...]) -> bool:
    """`path` is one of `names` (at any depth), as a case-insensitive file system opens it."""
    folded = fold_path(path)
    return any(folded == n or folded.endswith("/" + n) for n in names)


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*prefix, str(k)))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, (*prefix, "[]"))
    else:
        yield prefix, value


def _line_of(text: str, *needles: str) -> int | None:
    for needle in needles:
        i = text.find(needle)
        if i >= 0:
            return text.count("\n", 0, i) + 1
    return None


def _leaf_line(text: str, keys: tuple[str, ...], value: Any) -> int:
    """Follow the keys through the text in order (nesting is in order too), then the list item."""
    pos = 0
    for k in keys:
        if k != "[]" and (m := re.compile(re.escape(json.dumps(k)) + r"\s*:").search(text, pos)):
            pos = m.start()
    if keys and keys[-1] == "[]" and (i := text.find(json.dumps(value), pos)) >= 0:
        pos = i
    return text.count("\n", 0, pos) + 1


def _servers(doc: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    holders: list[Any] = [doc, doc.get("mcp")] if isinstance(doc, dict) else []
    for h in holders:
        for key in SERVER_KEYS:
            block = h.get(key) if isinstance(h, dict) else None
            if isinstance(block, dict):
                out.update({str(k): v if isinstance(v, dict) else {} for k, v in block.items()})
    return out


def _server_sig(cfg: dict[str, Any]) -> str:
    return json.dumps(
        [cfg.get("command"), cfg.get("args"), cfg.get("url") or cfg.get("serverUrl")], default=str
    )


def _server_summary(cfg: dict[str, Any]) -> str:
    url = cfg.get("url") or cfg.get("serverUrl")
    if isinstance(url, str):
        return "url " + re.sub(r"//[^/@]*@", "//", url.split("?", 1)[0].split("#", 1)[0])
    cmd = str(cfg.get("command", "?"))
    raw = cfg.get("args")
    args: list[Any] = raw if isinstance(raw, list) else []
    pkg = next((str(a) for a in args if not str(a).startswith("-") and "=" not in str(a)), "")
    return f"command `{cmd} {pkg}`" if pkg else f"command `{cmd}`"


def _c(category: str, message: str, path: str, line: int | None) -> Candidate:
    return candidate("permission", category, message, (path, line))


def _leaf_category(keys: tuple[str, ...], value: Any) -> str | None:
    low = [k.lower() for k in keys if k != "[]"]
    if not low:
        return None
    if low[-1] in HOOK_KEYS and (low[0] in ("hooks", "statusline") or len(low) == 1):
        return "agent-hook"  # a shell command the agent runs (hooks, helpers)
    if low[0] == "hooks":
        return None
    if low[-1] in ("enableallprojectmcpservers", "enabledmcpjsonservers"):
        return "mcp-server" if truthy(value) else None
    if low[-1] == "task.allowautomatictasks":  # VS Code: folderOpen tasks run without asking
        return "runs-on-open" if str(value).lower() == "on" else None
    if low[-1] == "defaultmode":
        return "auto-approve" if str(value).lower() in RISKY_MODES else None
    if any(_GRANT.match(k) for k in low):
        return "agent-tool-permission" if value not in (False, None, "") else None
    if any(_AUTO.search(k) for k in low):
        return "auto-approve" if truthy(value) else None
    return None


def _json_candidates(path: str, old: Any, new: Any, text: str) -> Iterator[Candidate]:
    old_leaves = set(map(_hashable, _leaves(old)))
    for keys, value in _leaves(new):
        in_server = (keys and keys[0] in SERVER_KEYS) or keys[:2] == ("mcp", "servers")
        if in_server and not _AUTO.search(keys[-1] if keys[-1] != "[]" else keys[-2]):
            continue  # servers are compared whole below; auto-approve lists inside them are leaves
        cat = _leaf_category(keys, value)
        if cat is None or _hashable((keys, value)) in old_leaves:
            continue
        what = ".".join(k for k in keys if k != "[]")
        shown = value if cat != "agent-hook" else "a shell command"
        yield _c(
            cat,
            f"`{what}` now includes {json.dumps(shown)}",
            path,
            _leaf_line(text, keys, value),
        )
    deny_old = {v for k, v in _leaves(old) if k[-2:] in (("deny", "[]"), ("ask", "[]"))}
    deny_new = {v for k, v in _leaves(new) if k[-2:] in (("deny", "[]"), ("ask", "[]"))}
    for v in sorted(map(str, deny_old - deny_new)):
        yield _c(
            "agent-tool-permission",
            f"deny/ask rule {json.dumps(v)} was removed",
            path,
            _line_of(text, '"deny"', '"ask"', '"permissions"'),
        )
    old_servers = _servers(old)
    old_sigs = {_server_sig(c) for c in old_servers.values()}
    for name, cfg in _servers(new).items():
        sig = _server_sig(cfg)
        if sig in old_sigs:
            continue  # unchanged, or only renamed
        change = "changed" if name in old_servers else "new"
        yield _c(
            "mcp-server",
            f"{change} MCP server `{name}` ({_server_summary(cfg)})",
            path,
            _line_of(text, json.dumps(name)),
        )


def _hashable(leaf: Leaf) -> tuple[tuple[str, ...], str]:
    return leaf[0], json.dumps(leaf[1], default=str)


def _new_lines(old: str | None, new: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    """Lines of `new` matching `pattern` whose normalised text was not in `old`."""
    seen = {" ".join(ln.split()) for ln in (old or "").splitlines() if pattern.search(ln)}
    for i, ln in enumerate(new.splitlines(), 1):
        if pattern.search(ln) and " ".join(ln.split()) not in seen:
            yield i, ln.strip()


def _file_candidates(change: Change, f: FileChange) -> Iterator[Candidate]:
    path = f.path
    if INSTRUCTIONS.search(fold_path(path)):
        added = added_lines(change, f)
        if added:
            yield _c(
                "agent-instructions",
                f"agent instructions changed: {len(added)} line(s) added",
                path,
                added[0].number,
            )
        return
    is_json = _matches(path, JSON_CONFIGS)
    if not (is_json or _matches(path, TOML_CONFIGS) or COPILOT_SETUP.search(fold_path(path))):
        yield from run_on_open_candidates(change, f)
        return
    sides = file_sides(change, f)
    if sides.new is None:
        if f.new_blob is not None:
            yield _c("unparseable", f"agent configuration cannot be read: {sides.error}", path, None)
        return
    if COPILOT_SETUP.search(fold_path(path)):
        for line, text in _new_lines(sides.old, sides.new, _FIREWALL):
            name = _FIREWALL.search(text)
            yield _c(
                "copilot-firewall",
                f"Copilot agent firewall setting `{name.group(0) if name else text}` added or changed",
                path,
                line,
            )
        return
    if not is_json:
        for line, text in _new_lines(sides.old, sides.new, _TOML_RISK):
            yield _c("auto-approve" if "=" in text else "mcp-server", f"`{text}` added", path, line)
        return
    try:
        new = load_json(sides.new, path, comments=True)
    except DocumentError as e:
        yield _c("unparseable", f"agent configuration cannot be parsed: {e.reason}", path, e.line or 1)
        return
    try:
        old = load_json(sides.old, path, comments=True) if sides.old is not None else {}
    except DocumentError:
        old = {}  # the base was broken: everything in the head is new
    yield from _json_candidates(path, old, new, sides.new)


def agent_candidates(change: Change) -> list[Candidate]:
    out: list[Candidate] = []
    for f in change.files:
        if f.new_blob is not None and not f.is_submodule:
            out.extend(_file_candidates(change, f))
    return out
