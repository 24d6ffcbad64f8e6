"""SARIF 2.1.0 (validated by Microsoft's SARIF Multitool in the tests; uploadable to code scanning)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from guard import __version__
from guard.checks.registry import meta_for_kind
from guard.model import Decision, Finding
from guard.redact import redact_decision
from guard.report.presentation import ACTION

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/pipeline-guard/pipeline-guard"


def _uri(path: str) -> str:
    # Untrusted paths become relative URI references: percent-encode everything unsafe.
    return quote(path.lstrip("/"), safe="/-._~")


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": ACTION[f.action].level,
        "kind": "fail",
        "message": {"text": f.message},
        "properties": {"action": f.action, "kind": f.kind, "category": f.category, "actors": list(f.actors)},
    }
    if f.path is not None:
        phys: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"}}
        if f.line:
            phys["region"] = {"startLine": f.line}
        res["locations"] = [{"physicalLocation": phys}]
    fp = f.id or f"{f.rule}:{f.path}:{f.line}:{f.fingerprint}"
    res["partialFingerprints"] = {"pipelineGuard/v1": fp}
    if f.commit:
        res["properties"]["commit"] = f.commit
    if f.fingerprint:
        res["properties"]["redactedFingerprint"] = f.fingerprint
    if f.tier:
        res["properties"]["tier"] = f.tier
    if f.reason:
        res["properties"]["reason"] = f.reason
    return res


def _descriptor(rule: str, kind: str) -> dict[str, Any]:
    """A policy rule as SARIF describes it: its kind's checks say what it looks for and where the
    docs are (guard/checks/registry.py)."""
    metas = meta_for_kind(kind)
    desc = " ".join(m.description for m in metas) or f"pipeline-guard {kind} rule"
    return {
        "id": rule,
        "name": rule.replace("-", " ").title().replace(" ", ""),
        "shortDescription": {"text": f"pipeline-guard {kind} rule {rule}"},
        "fullDescription": {"text": desc},
        "helpUri": metas[0].help_uri if metas else INFO_URI,
        "properties": {"kind": kind, "checks": [m.id for m in metas]},
    }


def to_dict(d: Decision) -> dict[str, Any]:
    d = redact_decision(d)  # every secret value masked (a no-op for the engine's decisions)
    rule_ids = list(dict.fromkeys(f.rule for f in d.findings))
    rule_index = {r: i for i, r in enumerate(rule_ids)}
    kinds = {f.rule: f.kind for f in d.findings}
    rules = [_descriptor(r, kinds[r]) for r in rule_ids]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pipeline-guard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
        "results": [_result(f, rule_index) for f in d.findings],
        "properties": {"decision": d.verdict, "mode": d.mode, "head": d.change.head, "base": d.change.base},
    }
    repo = d.change.repository or ""
    if repo.startswith(("https://", "http://")):
        run["versionControlProvenance"] = [{"repositoryUri": repo, "revisionId": d.change.head}]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(d: Decision, *, explain: bool = False) -> str:
    del explain  # `explain` changes the text report only
    return json.dumps(to_dict(d), indent=2, ensure_ascii=False) + "\n"
