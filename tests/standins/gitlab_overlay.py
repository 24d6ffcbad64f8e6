"""Derive a mockable spec from GitLab's own OpenAPI extract (never edits the shared file).

GitLab's generated description types a few things in ways no client sees in practice; each change
below is a deliberate deviation from GitLab's contract, listed here and in the test module:

1. path parameters typed `oneOf: [string, integer]` -> `anyOf` (Prism coerces "1" to match both,
   so `oneOf` rejects every numeric id; the real API takes either);
2. `GET .../merge_requests/{noteable_id}/notes` 200 -> an array of `APIEntitiesNote` (GitLab
   returns a list; the Grape entity declares one object);
3. `APIEntitiesMergeRequestApprovals.approved_by` -> an array of `APIEntitiesApprovals` (same
   Grape quirk: GitLab returns a list of `{user, approved_at}`);
4. `APIEntitiesMember.access_level` -> integer, example 40 (declared a string without example;
   GitLab returns the number the guard maps to a permission);
5. `APIEntitiesMergeRequest.sha` example -> a 40-hex commit id (the example is the short
   placeholder `1234abcd`; the guard compares full ids).

Usage: python gitlab_overlay.py SPEC OUT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

NOTES = "/api/v4/projects/{id}/merge_requests/{noteable_id}/notes"
EXAMPLE_SHA = "8e0b45049b6253b8984cde9241830d2851168142"


def overlay(spec: dict[str, Any]) -> list[str]:
    """Apply the overlays in place; returns one line per change (the tests assert the count)."""
    done: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for param in op.get("parameters", []):
                schema = param.get("schema", {})
                if param.get("in") == "path" and "oneOf" in schema:
                    schema["anyOf"] = schema.pop("oneOf")
                    done.append(f"1 {method.upper()} {path} {param['name']}: oneOf -> anyOf")
    ok = spec["paths"][NOTES]["get"]["responses"]["200"]["content"]["application/json"]
    ok["schema"] = {"type": "array", "items": ok["schema"]}
    done.append(f"2 GET {NOTES}: 200 is an array")
    schemas = spec["components"]["schemas"]
    approvals = schemas["APIEntitiesMergeRequestApprovals"]["properties"]
    approvals["approved_by"] = {"type": "array", "items": approvals["approved_by"]}
    done.append("3 APIEntitiesMergeRequestApprovals.approved_by is an array")
    schemas["APIEntitiesMember"]["properties"]["access_level"] = {"type": "integer", "example": 40}
    done.append("4 APIEntitiesMember.access_level: integer, example 40")
    schemas["APIEntitiesMergeRequest"]["properties"]["sha"]["example"] = EXAMPLE_SHA
    done.append("5 APIEntitiesMergeRequest.sha example: 40-hex")
    return done


def write_overlay(src: Path, out: Path) -> list[str]:
    spec = yaml.safe_load(src.read_text(encoding="utf-8"))
    done = overlay(spec)
    out.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return done


if __name__ == "__main__":  # pragma: no cover
    for line in write_overlay(Path(sys.argv[1]), Path(sys.argv[2])):
        print(line)
