"""Issue 14 part 10: version bumps in valid manifest forms the old line readers missed.

Each form is valid TOML/JSON/INI that the tools reading the manifest (pip, cargo, npm) accept; each
goes through a real repository, and the bump must be a `version-bump` finding on its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cliutil import cli
from gitutil import CLAUDE_TRAILER, Repo
from test_permissions_helpers import findings, git_change, triples

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
    "setup-cfg-continuation": ("setup.cfg", "[metadata]\nname = a\nversion =\n    {v}\n", 4),
    # YAML is parsed too: a quoted key and a flow mapping are the same `version` to Helm.
    "chart-quoted-key": ("Chart.yaml", 'apiVersion: v2\nname: a\n"version": {v}\n', 3),
    "chart-flow-mapping": ("Chart.yaml", "{{apiVersion: v2, name: a, version: '{v}'}}\n", 1),
    # Java properties: `:` and whitespace separate a key too, and keys may be indented.
    "gradle-colon": ("gradle.properties", "group=a\nversion:{v}\n", 2),
    "gradle-space": ("gradle.properties", "group=a\n  version {v}\n", 2),
    "gradle-continuation": ("gradle.properties", "group=a\nversion=\\\n    {v}\n", 3),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_bump_in_every_valid_form_is_found(tmp_path: Path, form: str) -> None:
    path, template, line = FORMS[form]
    change = git_change(tmp_path, {path: template.format(v="1.0.0")}, {path: template.format(v="1.1.0")})
    assert triples(findings(change, "release")) == {("version-bump", path, line)}


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
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD"])
    assert r.exit_code == 1 and "agent-release-boundary" in r.stdout and "from 1.0.0 to 9.0.0" in r.stdout


PYPROJECT = '[project]\nname = "a"\nversion = "{v}"\n'


@pytest.mark.parametrize(
    "attributes",
    [
        {"after": {".gitattributes": "*.toml binary\n"}},  # the change itself says "binary"
        {"before": {".gitattributes": "pyproject.toml -diff\n"}},  # already so at the base
    ],
    ids=["added-by-the-change", "at-the-base"],
)
def test_a_manifest_git_calls_binary_is_still_read(
    tmp_path: Path, attributes: dict[str, dict[str, str]]
) -> None:
    # Attack: `.gitattributes` makes git print "Binary files differ" for a valid UTF-8 manifest.
    before = {"pyproject.toml": PYPROJECT.format(v="1.0.0"), **attributes.get("before", {})}
    after = {
        **before,
        "pyproject.toml": PYPROJECT.format(v="2.0.0"),
        **attributes.get("after", {}),
    }
    change = git_change(tmp_path, before, after)
    assert [f.binary for f in change.files if f.path == "pyproject.toml"] == [True]
    assert triples(findings(change, "release")) == {("version-bump", "pyproject.toml", 3)}


def test_a_manifest_too_large_to_read_cannot_hide_a_bump(tmp_path: Path) -> None:
    # Attack: pad the manifest past the read cap (1 MB) so neither side is looked at.
    padded = PYPROJECT.format(v="2.0.0") + "# " + "x" * 1_100_000 + "\n"
    change = git_change(tmp_path, {"pyproject.toml": PYPROJECT.format(v="1.0.0")}, {"pyproject.toml": padded})
    got = findings(change, "release")
    assert [(f.category, f.path, f.line) for f in got] == [("manifest-unparseable", "pyproject.toml", 1)]
    assert "larger than 1000000 bytes" in got[0].message and "cannot be ruled out" in got[0].message


def test_an_agent_bump_behind_a_binary_attribute_needs_step_up_end_to_end(repo: Repo) -> None:
    repo.commit("manifest", files={"Cargo.toml": '[package]\nname = "a"\nversion = "1.0.0"\n'})
    base = repo.head()
    repo.git("checkout", "-q", "-b", "agent")
    repo.commit(
        f"release\n\n{CLAUDE_TRAILER}",
        files={
            ".gitattributes": "Cargo.toml binary\n",
            "Cargo.toml": "[package]\nname = 'a'\n'version' = '9.0.0'\n",
        },
    )
    r = cli(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD"])
    assert r.exit_code == 1 and "agent-release-boundary" in r.stdout and "from 1.0.0 to 9.0.0" in r.stdout


def test_a_manifest_that_really_is_binary_is_unparseable_not_skipped(tmp_path: Path) -> None:
    # A NUL is invalid TOML: the bump beside it cannot be ruled out.
    change = git_change(
        tmp_path,
        {"pyproject.toml": PYPROJECT.format(v="1.0.0")},
        {"pyproject.toml": PYPROJECT.format(v="2.0.0") + "#\0\n"},
    )
    assert [f.binary for f in change.files] == [True]
    assert triples(findings(change, "release")) == {("manifest-unparseable", "pyproject.toml", 1)}


def test_a_chart_version_is_compared_as_written(tmp_path: Path) -> None:
    # YAML would load both as the float 1.1; the scalar as written tells them apart.
    change = git_change(
        tmp_path, {"Chart.yaml": "name: a\nversion: 1.1\n"}, {"Chart.yaml": "name: a\nversion: 1.10\n"}
    )
    got = findings(change, "release")
    assert [(f.category, f.path, f.line) for f in got] == [("version-bump", "Chart.yaml", 2)]
    assert "from 1.1 to 1.10" in got[0].message
