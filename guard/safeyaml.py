"""Bounded YAML/JSON loading for untrusted files (workflows, CI configs, agent settings, policies).

Every document from a change is hostile until parsed: a 20 MB file, `[[[[...` nested a million
deep, or an alias bomb (nine anchors of nine aliases each expand to 9^9 nodes for whoever walks
the result) must end quickly with a `DocumentError`, never a crash, hang or traceback.

YAML is read in two passes over libyaml (C) when available: a cheap event scan that enforces the
caps (size, nesting depth, alias count, *expanded* node count, recursive aliases), then
construction into `LineDict`/`LineList`, which remember the 1-based line of each key and item so
checks can point at the exact line. Unknown tags (`!reference`, `!Ref`) are read as their plain
value instead of failing: GitLab CI and CloudFormation use them routinely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterator
from typing import Any

import yaml

from guard.errors import UsageError

MAX_BYTES = 1_000_000
MAX_DEPTH = 100
MAX_ALIASES = 1_000
MAX_NODES = 200_000

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(UsageError):
    """A document that cannot be read safely: invalid syntax or over a cap. Names file and line."""

    def __init__(self, reason: str, where: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(reason, where=f"{where}:{line}" if line else where)


class LineDict(dict[Any, Any]):
    """A mapping that remembers where it, each key and each value start (1-based lines)."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]
    block_values: set[Any]  # keys whose value is a `|`/`>` block scalar (content starts a line later)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.key_lines = {}
        self.value_lines = {}
        self.block_values = set()

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that remembers the line of each item."""

    line: int = 0
    item_lines: list[int]
    block_items: set[int]  # indices of `|`/`>` block scalars (content starts a line later)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []
        self.block_items = set()

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _LineLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader semantics, with line-aware containers and unknown tags read as plain values."""


def _construct_map(loader: Any, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)  # `<<` merge keys, as SafeLoader does
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, (LineDict, LineList)):
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable mapping key", key_node.start_mark
            )
        data[key] = loader.construct_object(value_node, deep=False)
        data.key_lines[key] = key_node.start_mark.line + 1
        data.value_lines[key] = value_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
            data.block_values.add(key)


def _construct_seq(loader: Any, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    for child in node.value:
        data.append(loader.construct_object(child, deep=False))
        data.item_lines.append(child.start_mark.line + 1)
        if isinstance(child, yaml.ScalarNode) and child.style in ("|", ">"):
            data.block_items.add(len(data) - 1)


def _construct_unknown(loader: Any, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next(iter(_construct_map_eager(loader, node)))
    if isinstance(node, yaml.SequenceNode):
        return next(iter(_construct_seq_eager(loader, node)))
    return loader.construct_scalar(node)


def _construct_map_eager(loader: Any, node: yaml.MappingNode) -> Iterator[LineDict]:
    gen = _construct_map(loader, node)
    data = next(gen)
    for _ in gen:
        pass
    yield data


def _construct_seq_eager(loader: Any, node: yaml.SequenceNode) -> Iterator[LineList]:
    gen = _construct_seq(loader, node)
    data = next(gen)
    for _ in gen:
        pass
    yield data


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_multi_constructor("!", _construct_unknown)
_LineLoader.add_multi_constructor("tag:", _construct_unknown)


def _check_size(text: str, where: str, max_bytes: int) -> None:
    # len(text) <= bytes <= 4*len(text): skip encoding when the answer is already known.
    if len(text) > max_bytes or (
        len(text) * 4 > max_bytes and len(text.encode("utf-8", "replace")) > max_bytes
    ):
        raise DocumentError(f"larger than {max_bytes} bytes", where)


def _scan_events(text: str, where: str, max_depth: int, max_aliases: int, max_nodes: int) -> None:
    """Enforce the caps on the event stream, before anything is composed or constructed.

    Each anchor remembers its expanded size and height, so an alias costs what it would cost to
    walk: nine aliases of nine aliases are 9^9 nodes here too, and stop at `max_nodes`.
    """
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # per open collection: [anchor, expanded nodes, height]
    expanded = aliases = 0

    def grow(weight: int, line: int | None) -> None:
        nonlocal expanded
        expanded += weight
        if expanded > max_nodes:
            raise DocumentError(f"expands to more than {max_nodes} nodes (alias bomb?)", where, line)

    def finished(weight: int, height: int, line: int | None) -> None:
        if len(stack) + height > max_depth:
            raise DocumentError(f"nested deeper than {max_depth} levels", where, line)
        if stack:
            stack[-1][1] += weight
            stack[-1][2] = max(stack[-1][2], height + 1)

    for ev in yaml.parse(text, Loader=_BaseLoader):
        line = ev.start_mark.line + 1 if ev.start_mark else None
        if isinstance(ev, yaml.ScalarEvent):
            grow(1, line)
            if ev.anchor:
                anchors[ev.anchor] = (1, 0)
            finished(1, 0, line)
        elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) + 1 > max_depth:
                raise DocumentError(f"nested deeper than {max_depth} levels", where, line)
            grow(1, line)
            if ev.anchor:
                open_anchors.add(ev.anchor)
            stack.append([ev.anchor, 1, 1])
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, weight, height = stack.pop()
            if anchor:
                open_anchors.discard(anchor)
                anchors[anchor] = (weight, height)
            finished(weight, height, line)
        elif isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > max_aliases:
                raise DocumentError(f"more than {max_aliases} aliases", where, line)
            if ev.anchor in open_anchors:
                raise DocumentError(f"recursive alias *{ev.anchor}", where, line)
            if ev.anchor not in anchors:
                raise DocumentError(f"undefined alias *{ev.anchor}", where, line)
            weight, height = anchors[ev.anchor]
            grow(weight, line)
            finished(weight, height, line)
        elif isinstance(ev, yaml.DocumentEndEvent):
            anchors.clear()


def _yaml_error(e: BaseException, where: str, max_depth: int) -> DocumentError:
    if isinstance(e, DocumentError):
        return e
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        if "nesting depth" in (e.problem or ""):
            # libyaml (PyYAML >= 6.0.2's C scanner) has its own cap, above ours, and may fire
            # before our event scan sees the level that crosses ours: same finding, same words.
            line = mark.line + 1 if mark else None
            return DocumentError(f"nested deeper than {max_depth} levels", where, line)
        return DocumentError(
            f"invalid YAML: {e.problem or e.context or 'syntax error'}",
            where,
            mark.line + 1 if mark else None,
        )
    if isinstance(e, RecursionError):
        return DocumentError("nested too deeply", where)
    return DocumentError(f"invalid YAML: {str(e).splitlines()[0] if str(e) else type(e).__name__}", where)


def load_yaml_all(
    text: str,
    where: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> list[Any]:
    """Every document of a YAML stream (GitLab CI/CD components have a `spec:` header document)."""
    _check_size(text, where, max_bytes)
    try:
        _scan_events(text, where, max_depth, max_aliases, max_nodes)
        return list(yaml.load_all(text, Loader=_LineLoader))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError, AttributeError) as e:
        raise _yaml_error(e, where, max_depth) from None


def load_yaml(
    text: str,
    where: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> Any:
    """One YAML document (None when empty) with caps; `DocumentError` on anything unsafe or invalid."""
    docs = load_yaml_all(
        text, where, max_bytes=max_bytes, max_depth=max_depth, max_aliases=max_aliases, max_nodes=max_nodes
    )
    if len(docs) > 1:
        raise DocumentError(f"expected one YAML document, found {len(docs)}", where)
    return docs[0] if docs else None


_JSONC_COMMENT = re.compile(r'("(?:\\.|[^"\\\n])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_JSONC_TRAILING = re.compile(r'("(?:\\.|[^"\\\n])*")|,(?=\s*[}\]])')


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (VS Code settings, tsconfig) -> JSON; lines kept."""

    def drop_comment(m: re.Match[str]) -> str:
        return m.group(1) or "\n" * m.group(0).count("\n")

    text = _JSONC_COMMENT.sub(drop_comment, text)
    return _JSONC_TRAILING.sub(lambda m: m.group(1) or "", text)


def _json_depth_ok(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d > max_depth:
                return False
            children = v.values() if isinstance(v, dict) else v
            stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return True


def load_json(
    text: str,
    where: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    comments: bool = False,
) -> Any:
    """A JSON document with caps (JSON has no aliases); `comments=True` accepts JSONC."""
    _check_size(text, where, max_bytes)
    try:
        # The C scanner recurses per level: refuse absurd nesting before handing it over.
        if text.count("[") + text.count("{") > max_depth and _bracket_depth(text) > max_depth:
            raise DocumentError(f"nested deeper than {max_depth} levels", where)
        value = json.loads(strip_jsonc(text) if comments else text)
    except json.JSONDecodeError as e:
        raise DocumentError(f"invalid JSON: {e.msg}", where, e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise DocumentError(f"invalid JSON: {e}", where) from None
    if not _json_depth_ok(value, max_depth):
        raise DocumentError(f"nested deeper than {max_depth} levels", where)
    return value


_BRACKETS = re.compile(r'"(?:\\.|[^"\\])*"|[\[\]{}]')


def _bracket_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (an upper bound for JSON nesting)."""
    depth = best = 0
    for m in _BRACKETS.finditer(text):
        tok = m.group(0)
        if tok in "[{":
            depth += 1
            best = max(best, depth)
        elif tok in "]}":
            depth -= 1
    return best
