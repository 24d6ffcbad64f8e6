"""Issue 14 part 10: version bumps in valid manifest forms the old line readers missed.

Each form is valid TOML/JSON/INI that the tools reading the manifest (pip, cargo, npm) accept; each
goes through a real repository, and the bump must be a `version-bump` finding on its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gitutil import CLAUDE_TRAILER, Repo
from test_permissions_helpers import findings, git_change, triples

from guard.cli import main

BOM = "\ufeff"
FORMS = {
    "quoted-key": ("pyproject.toml", '[project]\nname = "a"\n"version" = "{v}"\n', 3),
    "single-quoted-key": ("Cargo.toml", "[package]\nname = 'a'\n'version' = '{v}'\n", 3),
    "dotted-key": ("pyproject.toml", 'project.name = "a"\nproject.version = "{v}"\n', 2),
    "inline-table": ("pyproject.toml", 'project = {{ name = "a", version = "{v}" }}\n', 1),
    "spaced-table-header": ("Cargo.toml", '[ package ]\nname = "a"\nversion = "{v}"\n', 3),
    "workspace-inline": ("Cargo.toml", '[workspace]\npackage = {{ version = "{v}" }}\n', 2),
    "poetry-dotted": ("pyproject.toml", '[tool]\npoetry.version = "{v}"\n', 2),
    "json-bom": ("package.json", BOM + '{{\n  "name": "a",\n  "version": "{v}"\n}}\n', 3),
    "setup-cfg-colon": ("setup.cfg", "[metadata]\nname = a\nversion: {v}\n", 3),
    "setup-cfg-continuation": ("setup.cfg", "[metadata]\nname = a\nversion =\n    {v}\n", 3),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_bump_in_every_valid_form_is_found(tmp_path: Path, form: str) -> None:
    path, template, line = FORMS[form]
    change = git_change(tmp_path, {path: template.format(v="1.0.0")}, {path: template.format(v="1.1.0")})
    got = triples(findings(change, "release"))
    assert ("version-bump", path, line) in got or ("version-bump", path, line + 1) in got, got


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_same_form_without_a_bump_is_quiet(tmp_path: Path, form: str) -> None:
    path, template, _ = FORMS[form]
    before = template.format(v="1.0.0")
    change = git_change(
        tmp_path, {path: before}, {path: before + ("\n" if path.endswith(".json") else "# c\n")}
    )
    assert [f for f in findings(change, "release") if f.category == "version-bump"] == []


def test_a_dependency_version_is_not_the_projects(tmp_path: Path) -> None:
    before = '[package]\nname = "a"\nversion = "1.0.0"\n[dependencies]\nserde = { version = "1.0" }\n'
    change = git_change(
        tmp_path, {"Cargo.toml": before}, {"Cargo.toml": before.replace('"1.0" }', '"1.1" }')}
    )
    assert findings(change, "release") == []


def test_an_unparseable_manifest_cannot_hide_a_bump(tmp_path: Path) -> None:
    # Attack: break the TOML so no reader sees the new version: that is a finding, not a pass.
    before = '[project]\nname = "a"\nversion = "1.0.0"\n'
    change = git_change(
        tmp_path, {"pyproject.toml": before}, {"pyproject.toml": before + 'version = "2.0.0"\n'}
    )
    got = findings(change, "release")
    assert [(f.category, f.path) for f in got] == [("manifest-unparseable", "pyproject.toml")]
    assert "cannot be ruled out" in got[0].message


def test_an_agent_bump_in_a_quoted_key_needs_step_up_end_to_end(repo: Repo) -> None:
    repo.commit("manifest", files={"pyproject.toml": '[project]\nname = "a"\nversion = "1.0.0"\n'})
    base = repo.head()
    repo.git("checkout", "-q", "-b", "agent")
    repo.commit(
        f"release\n\n{CLAUDE_TRAILER}",
        files={"pyproject.toml": '[project]\nname = "a"\n"version" = "9.0.0"\n'},
    )
    r = CliRunner().invoke(main, ["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD"])
    assert r.exit_code == 1 and "agent-release-boundary" in r.stdout and "from 1.0.0 to 9.0.0" in r.stdout
