"""The secret check against real git repositories: what is scanned, attribution, allowlisting, redaction."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gitutil import Repo, git

from guard.checks.interface import CheckContext
from guard.checks.secrets import check, scan_change
from guard.diff import AddedLine, AddedLines
from guard.errors import UsageError
from guard.git.repo import GitRepo
from guard.model import Change, FileChange
from guard.policy import Policy, Rule, builtin_policy
from guard.secrets import redact
from guard.secrets.baseline import load_baseline
from guard.secrets.redact import baseline_hash

# Synthesised, syntactically valid, never real.
GHP = "ghp_" + "R8mK2vXq9LwT4nJc7PzY1sHd6FbG3aE5uQ0i"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcZx81"
PG_PASSWORD = "Vr7#kQ2m!pLz"


def _policy(**secrets: object) -> Policy:
    p = builtin_policy()
    if secrets:
        p = p.model_copy(update={"secrets": p.secrets.model_copy(update=secrets)})
    return p


def _rule(action: str = "block", **match: object) -> Rule:
    return Rule(id="secrets", kind="secret", action=action, actors=["any"], match=match)  # type: ignore[arg-type]


def _findings(
    change: Change, rule: Rule | None = None, policy: Policy | None = None, baseline: str | None = None
) -> list:
    trusted = load_baseline(baseline) if baseline is not None else None
    return check(CheckContext(change, policy or _policy(), baseline=trusted), rule or _rule())


def test_secret_found_with_its_adding_commit_and_new_line_number(repo: Repo) -> None:
    base = repo.head()
    first = repo.commit("add config", files={"src/settings.py": f"DEBUG = True\nTOKEN = '{GHP}'\n"})
    repo.commit("unrelated", files={"README.md": "hello\nmore\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    [f] = _findings(change)
    assert (f.kind, f.category, f.path, f.line, f.commit, f.commits) == (
        "secret",
        "github-token",
        "src/settings.py",
        2,
        first,
        (first,),
    )
    assert f.action == "block" and f.rule == "secrets" and f.fingerprint == redact(GHP)


def test_secret_added_then_removed_is_still_reported_once(repo: Repo) -> None:
    base = repo.head()
    added = repo.commit("oops", files={"app.env": f"STRIPE_KEY={STRIPE}\n"})
    repo.commit("remove", files={"app.env": "STRIPE_KEY=${STRIPE_KEY}\n"})
    repo.commit("again elsewhere", files={"app.env": f"STRIPE_KEY={STRIPE}\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    found = _findings(change)
    assert [(f.category, f.commit) for f in found] == [("stripe-key", added)]


def test_secret_in_bare_repository_is_found(repo: Repo, tmp_path: Path) -> None:
    base = repo.head()
    repo.commit("db", files={"deploy/db.yml": f"url: postgres://app:{PG_PASSWORD}@db.internal:5432/app\n"})
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    change = GitRepo(bare).build_change(base, "main")
    [f] = _findings(change)
    assert (f.category, f.path, f.line) == ("url-password", "deploy/db.yml", 1)


def test_base_secret_not_reflagged_on_rename_but_flagged_when_copied_elsewhere(repo: Repo) -> None:
    repo.commit(
        "legacy", files={"old/keys.py": f"KEY = '{GHP}'\n" + "".join(f"x{i} = {i}\n" for i in range(20))}
    )
    base = repo.head()
    repo.git("mv", "old", "new")
    repo.commit("move")
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert _findings(change) == []
    repo.commit("copy", files={"other.py": f"K = '{GHP}'\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert [(f.path, f.category) for f in _findings(change)] == [("other.py", "github-token")]


def test_commit_message_and_file_name_are_scanned(repo: Repo) -> None:
    base = repo.head()
    sha = repo.commit(f"deploy\n\nused token {GHP} for the run", files={f"notes/{STRIPE}.txt": "x\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    found = {(f.category, f.path, f.line) for f in _findings(change)}
    assert ("github-token", None, 3) in found
    named = [f for f in _findings(change) if f.category == "stripe-key"]
    assert len(named) == 1 and named[0].commit == sha
    assert STRIPE not in (named[0].path or "") and named[0].path == f"notes/{redact(STRIPE)}.txt"


def test_secret_value_never_appears_in_any_finding_field(repo: Repo) -> None:
    base = repo.head()
    secrets = [GHP, STRIPE, PG_PASSWORD]
    repo.commit(
        f"msg {GHP}",
        files={
            "a.py": f"password = '{PG_PASSWORD}'\ntoken = '{GHP}'\n",
            f"b/{STRIPE}.env": f"KEY={STRIPE}\n",
        },
    )
    change = GitRepo(repo.path).build_change(base, "HEAD")
    found = _findings(change)
    assert len(found) >= 4
    dumped = json.dumps([f.to_dict() for f in found]) + repr(found)
    for s in secrets:
        assert s not in dumped
        assert s[: len(s) // 2] not in dumped


def test_pragma_added_in_change_needs_step_up_unless_policy_honours_it(repo: Repo) -> None:
    base = repo.head()
    repo.commit("p", files={"a.py": f"token = '{GHP}'  # pragma: allowlist secret\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    [f] = _findings(change)
    assert f.action == "step-up" and "pragma" in f.message
    assert _findings(change, policy=_policy(honour_pragmas_added_in_change=True)) == []
    assert [x.action for x in _findings(change, rule=_rule("warn"))] == ["warn"]


def test_pragma_already_at_base_silences_a_line_that_is_re_added(repo: Repo) -> None:
    line = f"token = '{GHP}'  # pragma: allowlist secret\n"
    repo.commit("p", files={"a.py": line})
    base = repo.head()
    repo.commit("reorder", files={"a.py": "import os\n" + line.replace("token =", "token  =")})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert [f.action for f in _findings(change)] == ["step-up"]  # a different line: not the reviewed one
    repo.commit("dup", files={"a.py": "import os\n" + line + line})
    change = GitRepo(repo.path).build_change(base, "HEAD~1")
    assert len(_findings(change)) == 1


def test_trusted_baseline_silences_listed_secrets_only(repo: Repo) -> None:
    base = repo.head()
    repo.commit("k", files={"a.py": f"token = '{GHP}'\n", "b.py": f"token = '{GHP}'\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    baseline = {"results": {"a.py": [{"type": "GitHub Token", "hashed_secret": baseline_hash(GHP)}]}}
    assert [f.path for f in _findings(change, baseline=json.dumps(baseline))] == ["b.py"]


def test_malformed_baseline_is_a_clear_usage_error() -> None:
    with pytest.raises(UsageError, match=r"\.secrets\.baseline.*invalid JSON"):
        load_baseline("{not json")
    with pytest.raises(UsageError, match="no `results`"):
        load_baseline("[]")


def test_rule_match_filters_detectors_paths_and_confidence(repo: Repo) -> None:
    base = repo.head()
    repo.commit(
        "k", files={"a.py": f"token = '{GHP}'\n", "tests/b.env": f"STRIPE={STRIPE}\nPASSWORD=hunter\n"}
    )
    change = GitRepo(repo.path).build_change(base, "HEAD")
    cats = lambda rule: sorted(f.category for f in _findings(change, rule))  # noqa: E731
    # `PASSWORD=hunter` in a .env: any literal works as a password (the generic detector, medium)
    assert cats(_rule()) == ["generic-credential", "github-token", "stripe-key"]
    assert cats(_rule(detectors=["stripe-*"])) == ["stripe-key"]
    assert cats(_rule(exclude_detectors=["github-token"])) == ["generic-credential", "stripe-key"]
    assert cats(_rule(exclude_paths=["tests/"])) == ["github-token"]
    assert cats(_rule(min_confidence="high")) == ["github-token", "stripe-key"]


def test_scan_runs_once_per_change_for_several_rules(repo: Repo) -> None:
    base = repo.head()
    repo.commit("k", files={"a.py": f"token = '{GHP}'\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    first = scan_change(change)
    assert scan_change(change) is first
    blocking, warning = _findings(change, _rule("block")), _findings(change, _rule("warn"))
    assert scan_change(change) is first
    assert [(f.category, f.action) for f in blocking + warning] == [
        ("github-token", "block"),
        ("github-token", "warn"),
    ]


def test_change_without_commits_falls_back_to_net_files() -> None:
    f = FileChange(path="x.yml", status="added", lines=AddedLines([AddedLine(7, f"token: {GHP}")]))
    [found] = _findings(Change(door="local", head="h", files=[f]))
    assert (found.line, found.commit, found.commits) == (7, None, ())


def test_non_utf8_and_nul_files_are_still_scanned(repo: Repo) -> None:
    base = repo.head()
    body = b"\xff\xfeheader\x00\npassword = " + PG_PASSWORD.encode() + b"\n" + b"filler line\n" * 20
    repo.commit("bin", files={"data.cfg": body})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert change.commits[0].files[0].binary  # git calls it binary; the scanner still reads it
    assert [(f.path, f.line) for f in _findings(change)] == [("data.cfg", 2)]


def test_huge_minified_line_is_scanned_in_bounded_time(repo: Repo) -> None:
    base = repo.head()
    line = ("var a='" + "x" * 50 + "';") * 40_000 + f"var t='{GHP}';" + "a=" * 200_000
    repo.commit("min", files={"app.min.js": line + "\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    start = time.perf_counter()
    found = _findings(change)
    assert time.perf_counter() - start < 5
    assert [(f.category, f.line) for f in found] == [("github-token", 1)]


def test_redact_shows_no_more_than_a_fifth_and_is_stable() -> None:
    r = redact(GHP)
    assert r.startswith("ghp_***(40)#") and r == redact(GHP) and r != redact(STRIPE)
    assert redact("hunter2").startswith("h***(7)#")
    assert redact("").startswith("***(0)#")
    assert "\n" not in redact("\n\n\n\n\n\n\n\n\n\nabc") and redact("<<<<<<<<<<").startswith("***")
