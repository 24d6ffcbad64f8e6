"""Release-boundary rules: ref updates from the doors, own-version readers, changelogs, CI steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_permissions_helpers import POLICY, dict_change, findings, git_change, rule, triples

from guard.checks import release
from guard.checks.interface import CheckContext
from guard.ci.jobs import Command
from guard.ci.release_steps import classify
from guard.ci.versions import changelog_releases, own_version
from guard.model import ZERO_SHA, RefUpdate

A, B = "a" * 40, "b" * 40


def ref_findings(*updates: RefUpdate, **match: object) -> set[tuple[str | None, str]]:
    change = dict_change({}, {}, ref_updates=list(updates))
    return {
        (f.category, f.message) for f in release.check(CheckContext(change, POLICY), rule("release", **match))
    }


def test_tag_created_deleted_moved() -> None:
    got = ref_findings(
        RefUpdate("refs/tags/v1.2.0", ZERO_SHA, A),
        RefUpdate("refs/tags/v1.1.0", A, ZERO_SHA),
        RefUpdate("refs/tags/v1.0.0", A, B, forced=True),
    )
    assert got == {
        ("tag-created", "tag `v1.2.0` created"),
        ("tag-deleted", "tag `v1.1.0` deleted"),
        ("tag-moved", f"tag `v1.0.0` moved from {A[:12]} to {B[:12]}"),
    }


def test_tag_globs_from_the_rule() -> None:
    assert ref_findings(RefUpdate("refs/tags/nightly-2024", ZERO_SHA, A), tags=["v*"]) == set()
    assert ref_findings(RefUpdate("refs/tags/v2", ZERO_SHA, A), tags=["v*"]) == {
        ("tag-created", "tag `v2` created")
    }


def test_release_branch_push_and_protected_deletion() -> None:
    got = ref_findings(
        RefUpdate("refs/heads/release/2.x", A, B),
        RefUpdate("refs/heads/main", A, ZERO_SHA),
        RefUpdate("refs/heads/feature/x", A, ZERO_SHA),  # not protected: nothing
        RefUpdate("refs/heads/feature/y", A, B),  # not a release branch: nothing
    )
    assert got == {
        ("release-branch-push", "release branch `release/2.x` pushed"),
        ("protected-branch-deleted", "protected branch `main` deleted"),
    }


def test_release_branches_from_the_rule() -> None:
    got = ref_findings(RefUpdate("refs/heads/stable-3", ZERO_SHA, A), release_branches=["stable-*"])
    assert got == {("release-branch-push", "release branch `stable-3` created")}


def test_ref_findings_filtered_by_category() -> None:
    updates = (RefUpdate("refs/tags/v1", ZERO_SHA, A), RefUpdate("refs/heads/release/1", A, B))
    assert {c for c, _ in ref_findings(*updates, exclude_categories=["tag-created"])} == {
        "release-branch-push"
    }


@pytest.mark.parametrize(
    ("path", "text", "version", "line"),
    [
        (
            "pyproject.toml",
            '[tool.black]\nversion = "x"\n[project]\nname = "a"\nversion = "1.2.3"\n',
            "1.2.3",
            5,
        ),
        ("pyproject.toml", '[project]\nname = "a"\ndynamic = ["version"]\n', None, None),
        ("Cargo.toml", '[workspace.package]\nversion = "0.5.0"\n', "0.5.0", 2),
        ("Cargo.toml", '[dependencies]\nserde = { version = "1" }\nversion = "9"\n', None, None),
        ("setup.cfg", "[metadata]\nname = x\nversion = 2.0\n", "2.0", 3),
        ("setup.py", 'setup(\n    name="x",\n    version="0.1.0",\n)\n', "0.1.0", 3),
        ("web/package.json", '{\n  "name": "w",\n  "version": "4.0.1"\n}\n', "4.0.1", 3),
        ("package.json", '{"name": "w", "dependencies": {"version": "1"}}', None, None),
        ("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\ndependencies:\n  - version: 2.0.0\n", "1.0.0", 2),
        ("acme.gemspec", 'Gem::Specification.new do |s|\n  s.version = "3.1.4"\nend\n', "3.1.4", 2),
        ("VERSION", "\n1.9.0\n", "1.9.0", 1),
        ("version.txt", "not a version\n", None, None),
        ("src/pkg/__init__.py", '"""Pkg."""\n__version__: str = "0.0.7"\n', "0.0.7", 2),
        ("gradle.properties", "org.gradle.jvmargs=-Xmx2g\nversion=1.4.0\n", "1.4.0", 2),
        ("App.csproj", "<Project>\n  <PropertyGroup>\n    <Version>5.0.0</Version>\n", "5.0.0", 3),
        (
            "pom.xml",
            "<project><!-- <version>0</version> --><parent><version>1</version></parent>"
            "<version>2</version></project>",
            "2",
            1,
        ),
        ("README.md", "version = 1\n", None, None),
    ],
)
def test_own_version(path: str, text: str, version: str | None, line: int | None) -> None:
    v = own_version(path, text)
    assert (v.value, v.line) == (version, line) if v else version is None


def test_changelog_releases_markdown_and_rst() -> None:
    md = "# Changes\n\n## [Unreleased]\n\n## [2.1.0] - 2024-05-01\n\n## v2.0.0\n"
    assert changelog_releases(md) == {"2.1.0": 5, "2.0.0": 7}
    rst = "History\n=======\n\n1.3 (2024-01-01)\n----------------\n\n1.3.0.dev0 (unreleased)\n-----------\n"
    assert changelog_releases(rst) == {"1.3": 4}


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("twine upload dist/*", {"twine upload"}),
        ("npm publish --dry-run", set()),
        ("npm publish --registry http://localhost:4873", set()),
        ("go install github.com/goreleaser/goreleaser/v2@latest", set()),
        ("goreleaser release --clean", {"goreleaser release"}),
        ("goreleaser check", set()),
        ("git push origin v1.2.3 --tags", {"git push of a tag"}),
        ("git push origin HEAD:main", set()),
        ("terraform plan -out tfplan", set()),
        ("helm upgrade --install app ./chart", {"helm upgrade"}),
        ("kubectl get pods", set()),
        ("/kaniko/executor --no-push --context .", set()),
    ],
)
def test_classify_shell(text: str, labels: set[str]) -> None:
    assert {label for _, label in classify(Command(text, ("ci.yml", 1)))} == labels


def test_classify_build_push_action_needs_push_true() -> None:
    def cmd(push: str) -> Command:
        return Command("uses x", ("w", 1), "docker/build-push-action@v6", (("push", push),))

    assert classify(cmd("false")) == []
    assert classify(cmd("${{ github.event_name != 'pull_request' }}")) == [
        ("publish-step", "docker/build-push-action push")
    ]


def test_version_bump_through_git_with_commit_attribution(tmp_path: Path) -> None:
    before = {"pyproject.toml": '[project]\nname = "a"\nversion = "1.0.0"\n', "src/a.py": "x = 1\n"}
    after = {"pyproject.toml": '[project]\nname = "a"\nversion = "1.1.0"\n', "src/a.py": "x = 2\n"}
    change = git_change(tmp_path, before, after)
    fs = findings(change, "release")
    assert triples(fs) == {("version-bump", "pyproject.toml", 3)}
    assert fs[0].commits == (change.head,)  # the commit that touched the manifest
    assert fs[0].kind == "release" and fs[0].rule == "test-release" and fs[0].action == "warn"


def test_version_revert_to_dev_is_medium_confidence() -> None:
    change = dict_change({"VERSION": "2.0.0\n"}, {"VERSION": "2.1.0.dev0\n"})
    (f,) = findings(change, "release")
    assert (f.category, f.confidence) == ("version-bump", "medium")


def test_version_moved_to_a_new_manifest_with_a_new_value_is_a_bump() -> None:
    change = dict_change(
        {"setup.cfg": "[metadata]\nversion = 1.0\n"}, {"pyproject.toml": '[project]\nversion = "1.1"\n'}
    )
    assert triples(findings(change, "release")) == {("version-bump", "pyproject.toml", 2)}


def test_new_package_in_a_monorepo_is_not_a_bump() -> None:
    change = dict_change({}, {"packages/new/package.json": '{"name": "new", "version": "0.0.1"}'})
    assert findings(change, "release") == []


def test_force_push_of_a_protected_branch() -> None:
    got = ref_findings(
        RefUpdate("refs/heads/main", A, B, forced=True),
        RefUpdate("refs/heads/main", A, B, forced=False),  # fast-forward: nothing
        RefUpdate("refs/heads/feature/x", A, B, forced=True),  # feature branches are rewritten routinely
    )
    assert len(got) == 1
    ((category, message),) = got
    assert category == "force-push" and "`main` force-pushed" in message
