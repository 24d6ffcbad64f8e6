"""Prepare GitHub's OpenAPI description (@octokit/openapi) for Prism: stdlib only.

The unmodified spec breaks PyGithub under Prism (research/integration-harness.md §1.2), so:
1. example URLs point at the mock (PyGithub follows returned `url`s and asserts the host and port);
2. responses offering application/json also offer GitHub's vendor media types (else Prism answers 406);
3. the shared `Link` header goes (its example points at `/resource?page=2`, a 404);
4. only the listed path templates stay, with the components they `$ref`, transitively (fast start);
5. examples whose value is a `$ref` to an Example Object are inlined (else Prism serves {"value": ...}).

    python prep_github_spec.py api.github.com.json gh_paths.txt http://127.0.0.1:4012 out.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

VENDOR_TYPES = ("application/vnd.github+json", "application/vnd.github.v3+json")


def _refs(node: Any) -> set[str]:
    """Every `#/components/...` pointer inside `node`."""
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                found.add(ref)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline_examples(spec: dict[str, Any], node: Any) -> None:
    if isinstance(node, dict):
        examples = node.get("examples")
        if isinstance(examples, dict):
            for key, ex in list(examples.items()):
                if isinstance(ex, dict) and isinstance(ex.get("$ref"), str):
                    examples[key] = _resolve(spec, ex["$ref"])
        for v in node.values():
            _inline_examples(spec, v)
    elif isinstance(node, list):
        for v in node:
            _inline_examples(spec, v)


def _vendor_types(node: Any) -> None:
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict) and "application/json" in content:
            for vt in VENDOR_TYPES:
                content.setdefault(vt, content["application/json"])
        headers = node.get("headers")
        if isinstance(headers, dict):
            headers.pop("Link", None)
        for v in node.values():
            _vendor_types(v)
    elif isinstance(node, list):
        for v in node:
            _vendor_types(v)


def prepare(spec: dict[str, Any], keep: list[str], base_url: str) -> dict[str, Any]:
    missing = [p for p in keep if p not in spec["paths"]]
    if missing:
        raise SystemExit(f"paths not in the spec: {', '.join(missing)}")
    # Top-level extras (x-webhooks) `$ref` components we drop: keep only what an API mock needs.
    out: dict[str, Any] = {k: spec[k] for k in ("openapi", "info", "tags", "externalDocs") if k in spec}
    out["servers"] = [{"url": base_url}]
    out["paths"] = {p: spec["paths"][p] for p in keep}
    # Components reachable from the kept paths, transitively.
    seen: set[str] = set()
    todo = _refs(out["paths"])
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        todo |= _refs(_resolve(spec, ref)) - seen
    comps: dict[str, dict[str, Any]] = {}
    for ref in seen:
        _, _, section, name = ref.split("/", 3)
        comps.setdefault(section, {})[name] = spec["components"][section][name]
    out["components"] = comps
    _inline_examples(out, out["paths"])
    _inline_examples(out, out["components"])
    _vendor_types(out)
    text = json.dumps(out).replace("https://api.github.com", base_url.rstrip("/"))
    result: dict[str, Any] = json.loads(text)
    return result


def main(argv: list[str]) -> None:
    src, paths_file, base_url, dest = argv
    keep = [ln.strip() for ln in Path(paths_file).read_text().splitlines() if ln.strip()]
    spec = json.loads(Path(src).read_text(encoding="utf-8"))
    Path(dest).write_text(json.dumps(prepare(spec, keep, base_url)), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
