"""Identification pinned against real repositories: one test per rule of issue #3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gitutil import CLAUDE_TRAILER, COPILOT, HUMAN, Repo

from guard.checks import run_checks
from guard.checks.interface import CheckContext
from guard.cli import main
from guard.errors import UsageError
from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import identify_actor, identify_commit
from guard.identify_change import identify_change, identify_range
from guard.model import Actor, Approval, Change, Commit, Person
from guard.policy import Policy, build_policy, builtin_policy
from guard.report.identify import render_identify_text

DEPENDABOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
GITHUB_WEB = ("GitHub", "noreply@github.com")


def change_of(repo: Repo, base: str, head: str = "HEAD", **fields: object) -> Change:
    ch = GitRepo(repo.path).build_change(base, head, **fields)  # type: ignore[arg-type]
    identify_change(ch, builtin_policy())
    return ch


def only(ch: Change) -> Commit:
    assert len(ch.commits) == 1
    return ch.commits[0]


def signals(c: Commit) -> set[str]:
    return {e.signal for e in c.identity.evidence}


# ----- the rules of the issue


def test_squash_merged_agent_work_is_agent(repo: Repo) -> None:
    base = repo.head()
    msg = "Fix directory listing (#701)\n\n* Initial plan\n\n* Fix it\n\n---------\n\n"
    msg += f"Co-authored-by: copilot-swe-agent[bot] <{COPILOT[1]}>\n"
    repo.commit(msg, files={"a.py": "x\n"}, author=HUMAN, committer=GITHUB_WEB)
    ch = change_of(repo, base)
    c = only(ch)
    assert c.identity.label == "agent:copilot"
    assert not c.identity.verified  # a trailer is claimed
    assert ch.identity.label == "agent:copilot"
    assert any(e.signal == "commit" and c.sha[:12] in e.value for e in ch.identity.evidence)


def test_rebased_agent_commit_keeps_agent_author(repo: Repo) -> None:
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("agent work", files={"b.py": "1\n"}, author=("Claude", "noreply@anthropic.com"))
    repo.git("checkout", "-q", "main")
    repo.commit("human work", files={"c.py": "1\n"})
    repo.git("checkout", "-q", "feature")
    repo.git(
        "rebase", "-q", "main", env={"GIT_COMMITTER_NAME": "Rebaser", "GIT_COMMITTER_EMAIL": "r@example.com"}
    )
    ch = change_of(repo, base)
    rebased = next(c for c in ch.commits if c.subject == "agent work")
    assert rebased.committer.name == "Rebaser"  # the committer changed...
    assert rebased.identity.label == "agent:claude-code"  # ...the agent author still decides
    human = next(c for c in ch.commits if c.subject == "human work")
    assert human.identity.kind == "human"


def test_agent_merge_commit_is_agent(repo: Repo) -> None:
    base = repo.head()
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side work", files={"s.py": "1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", files={"m.py": "1\n"})
    repo.git("merge", "-q", "--no-ff", "side", "-m", f"Merge branch 'side'\n\n{CLAUDE_TRAILER}")
    ch = change_of(repo, base)
    merge = next(c for c in ch.commits if c.is_merge)
    assert merge.identity.label == "agent:claude-code"
    assert {c.identity.kind for c in ch.commits if not c.is_merge} == {"human"}
    assert ch.identity.kind == "agent"


def test_spoofed_human_author_with_agent_trailer(repo: Repo) -> None:
    base = repo.head()
    repo.commit("tidy\n\nClaude-Session: https://claude.ai/code/session_01abc", files={"x": "1"})
    ch = change_of(repo, base)
    c = only(ch)
    assert c.author.name == HUMAN[0]
    assert c.identity.label == "agent:claude-code"
    assert "trailer:claude-session" in signals(c)
    found = run_checks(CheckContext(ch, identity_policy()))
    assert [f.category for f in found if f.commit == c.sha] == ["spoofed-human"]


def test_claimed_bot_is_automation_but_claimed_and_flagged(repo: Repo) -> None:
    base = repo.head()
    repo.commit("build(deps): bump x", files={"req.txt": "x==2\n"}, author=DEPENDABOT)
    ch = change_of(repo, base)
    c = only(ch)
    assert c.identity.label == "automation:dependabot"
    assert not c.identity.verified
    found = run_checks(CheckContext(ch, identity_policy()))
    assert {f.category for f in found} == {"claimed-bot", "unverified-actor"}


def test_claimed_bot_confirmed_by_verified_actor_is_not_flagged(repo: Repo) -> None:
    base = repo.head()
    repo.commit("build(deps): bump x", files={"req.txt": "x==2\n"}, author=DEPENDABOT)
    actor = Actor("dependabot[bot]", "pr-author", "github-event", id="49699333", type="Bot")
    ch = change_of(repo, base, actors=[actor])
    c = only(ch)
    assert c.identity.label == "automation:dependabot" and c.identity.verified
    assert run_checks(CheckContext(ch, identity_policy())) == []


def test_verified_agent_actor_makes_human_looking_commits_agent_work(repo: Repo) -> None:
    base = repo.head()
    repo.commit("looks human", files={"a": "1"})
    actor = Actor("Copilot", "pr-author", "github-event", id="198982749", type="Bot")
    delegator = Actor("alice", "delegator", "github-event", type="User")
    ch = change_of(repo, base, actors=[actor, delegator])
    c = only(ch)
    assert c.identity.label == "agent:copilot"
    assert c.identity.verified  # the actor's evidence is the platform's word
    assert any(e.signal == "actor:pr-author" and e.verified for e in c.identity.evidence)
    assert ch.identity.label == "agent:copilot" and ch.identity.verified
    assert delegator.identity.kind == "human"
    found = run_checks(CheckContext(ch, identity_policy()))
    assert [f.category for f in found] == ["agent-push"]


def test_verified_human_actor_does_not_clear_agent_markers(repo: Repo) -> None:
    base = repo.head()
    repo.commit(f"feat\n\n{CLAUDE_TRAILER}", files={"a": "1"})
    ch = change_of(repo, base, actors=[Actor("alice", "pusher", "pre-receive-env", type="User")])
    assert only(ch).identity.kind == "agent"
    assert ch.identity.kind == "agent"


@pytest.mark.parametrize(
    ("author", "message", "label"),
    [
        (("claude[bot]", "41898282+claude[bot]@users.noreply.github.com"), "fmt", "agent:claude-code"),
        (
            ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"),
            "fmt",
            "automation:github-actions",
        ),
        (
            ("OpenHands Bot", "openhands@all-hands.dev"),
            "🤖 Auto-fix Python linting issues",
            "automation:openhands-lint",
        ),
        (("openhands", "openhands@all-hands.dev"), "Fix flaky test", "agent:openhands"),
        (("OpenHands Bot", "openhands@all-hands.dev"), "Rewrite the resolver", "agent:openhands"),
        (
            ("GitHub Actions", "actions@github.com"),
            "chore: bump Claude Code to 2.0.1",
            "automation:github-actions",
        ),
        (("Renovate Bot", "bot@renovateapp.com"), "chore(deps): update", "automation:renovate"),
        (
            ("gemini-cli-robot", "gemini-cli-robot@google.com"),
            "chore(release): v1",
            "automation:gemini-cli-robot",
        ),
    ],
)
def test_automation_told_apart_from_agents(
    repo: Repo, author: tuple[str, str], message: str, label: str
) -> None:
    base = repo.head()
    repo.commit(message, files={"f": message}, author=author)
    assert only(change_of(repo, base)).identity.label == label


@pytest.mark.parametrize(
    ("author", "committer", "message", "branch"),
    [
        (("Ashwin Bhat", "ashwin@anthropic.com"), None, "fix: pass model through", None),
        (("Kaz Sera", "seratch@openai.com"), None, "Bump version", None),
        (HUMAN, None, "Ask Claude or Copilot? We document both.\n\nClaude wrote nothing here.", None),
        (HUMAN, None, "remove codegen script", "codegen-cleanup"),
        (HUMAN, None, "Merge pull request #5 from org/copilot/fix-4", None),
        (HUMAN, ("Alice Example (aider)", HUMAN[1]), "fix typo", None),  # aider committed my edits
        (("Claude Monet", "claude@monet.example"), None, "palette", None),
        (("bunnyanon", "slutbott@proton.me"), None, "Add detector", None),
        (HUMAN, None, "regen\n\nGenerated-by: protoc 25.1", None),
    ],
)
def test_hard_negatives_are_human(
    repo: Repo, author: tuple[str, str], committer: tuple[str, str] | None, message: str, branch: str | None
) -> None:
    base = repo.head()
    repo.commit(message, files={"f": message}, author=author, committer=committer)
    c = only(change_of(repo, base, source_ref=branch))
    assert c.identity.kind == "human", c.identity.to_dict()


def test_aider_author_suffix_is_agent_committer_only_is_human(repo: Repo) -> None:
    base = repo.head()
    repo.commit("aider edit", files={"a": "1"}, author=("Alice Example (aider)", HUMAN[1]))
    repo.commit("my edit", files={"a": "2"}, author=HUMAN, committer=("Alice Example (aider)", HUMAN[1]))
    ch = change_of(repo, base)
    by = {c.subject: c.identity for c in ch.commits}
    assert by["aider edit"].label == "agent:aider"
    assert by["my edit"].kind == "human"
    assert any(e.signal == "committer" and e.points_to == "human" for e in by["my edit"].evidence)


def test_branch_is_claimed_evidence_and_can_be_switched_off(repo: Repo) -> None:
    base = repo.head()
    repo.commit("codex cloud work", files={"a": "1"})
    ch = change_of(repo, base, source_ref="refs/heads/codex/fix-parser")
    c = only(ch)
    assert c.identity.label == "agent:codex"
    assert [e.verified for e in c.identity.evidence if e.signal == "branch"] == [False]
    pol = policy_from("identity: {agent_branches: false}\n")
    ch2 = GitRepo(repo.path).build_change(base, "HEAD", source_ref="codex/fix-parser")
    identify_change(ch2, pol)
    assert only(ch2).identity.kind == "human"


def test_no_usable_data_is_unknown() -> None:
    fp = load_fingerprints()
    empty = Commit("0" * 40, (), Person("", ""), Person("", ""), 0, 0, "")
    assert identify_commit(empty, fp).kind == "unknown"
    web = Commit("1" * 40, (), Person(*GITHUB_WEB), Person(*GITHUB_WEB), 0, 0, "x")
    assert identify_commit(web, fp).kind == "unknown"


# ----- actors and approvals


@pytest.mark.parametrize(
    ("login", "uid", "acct_type", "label"),
    [
        ("Copilot", "198982749", "Bot", "agent:copilot"),
        ("renamed-copilot", "198982749", "Bot", "agent:copilot"),  # the id is the stable key
        ("copilot-swe-agent[bot]", None, "Bot", "agent:copilot"),
        ("claude[bot]", "209825114", "Bot", "agent:claude-code"),
        ("dependabot[bot]", "49699333", "Bot", "automation:dependabot"),
        ("github-actions[bot]", "41898282", "Bot", "automation:github-actions"),
        ("some-app[bot]", "1", "Bot", "unknown:some-app"),  # not in the catalogue: not trusted
        ("project_42_bot_1a2b3c", "77", "User", "agent:gitlab-access-token"),
        ("octocat", "583231", "User", "human"),
        ("", None, None, "unknown"),
    ],
)
def test_identify_actor(login: str, uid: str | None, acct_type: str | None, label: str) -> None:
    ident = identify_actor(
        Actor(login, "pusher", "github-event", id=uid, type=acct_type), load_fingerprints()
    )
    assert ident.label == label
    assert all(e.source == "github-event" for e in ident.evidence)
    if label != "unknown":
        assert ident.verified


def test_unverified_actor_evidence_stays_claimed() -> None:
    actor = Actor("Copilot", "pusher", "pre-receive-env", id="198982749", verified=False)
    ident = identify_actor(actor, load_fingerprints())
    assert ident.label == "agent:copilot" and not ident.verified


def test_approvals_are_identified(repo: Repo) -> None:
    base = repo.head()
    repo.commit("x", files={"a": "1"})
    approvals = [
        Approval("octocat", "review", "github-api", approver_type="User"),
        Approval("copilot-pull-request-reviewer[bot]", "review", "github-api", approver_type="Bot"),
    ]
    ch = change_of(repo, base, approvals=approvals)
    assert [a.identity.label for a in ch.approvals] == ["human", "agent:copilot"]


# ----- policy extensions


def policy_from(text: str) -> Policy:
    return build_policy(text, ".pipeline-guard.yml")


def identity_policy(match: str = "{}") -> Policy:
    return policy_from(
        "extends: []\nrules:\n  - id: who\n    kind: identity\n    actors: [any]\n    action: warn\n"
        f"    match: {match}\n"
    )


def test_policy_accounts_and_fingerprints_extend_the_builtin(repo: Repo) -> None:
    base = repo.head()
    repo.commit("svc", files={"a": "1"}, author=("Build Agent", "agent-7@bots.corp.example"))
    repo.commit("x\n\nX-Agent: internal-coder v2", files={"a": "2"})
    pol = policy_from(
        "identity:\n"
        "  accounts: [{vendor: corp-coder, emails: ['*@bots.corp.example'], logins: [corp-coder]}]\n"
        "  fingerprints: [{vendor: internal, trailers: {x-agent: '^internal-coder'}}]\n"
    )
    ch = GitRepo(repo.path).build_change(base, "HEAD", actors=[Actor("corp-coder", "pusher", "gitlab-ci")])
    identify_change(ch, pol)
    by = {c.subject: c.identity.label for c in ch.commits}
    assert by == {"svc": "agent:corp-coder", "x": "agent:internal"}
    assert ch.actors[0].identity.label == "agent:corp-coder"


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ("{vendor: x, body: ['(unclosed']}", "identity.fingerprints[0].body[0]"),
        ("{vendor: x, colour: red}", "identity.fingerprints[0]"),
        ("{kind: agent}", "identity.fingerprints[0]"),
        ("{vendor: x, kind: robot}", "identity.fingerprints[0]"),
    ],
)
def test_bad_policy_fingerprints_give_a_clear_error(entry: str, where: str) -> None:
    pol = policy_from(f"identity:\n  fingerprints: [{entry}]\n")
    with pytest.raises(UsageError, match=rf"^{where.replace('[', '.').replace(']', '.')}"):
        load_fingerprints(pol)


# ----- the identity check


def test_unverified_actor_only_for_protected_paths(repo: Repo) -> None:
    base = repo.head()
    repo.commit("ci", files={".github/workflows/ci.yml": "on: push\n"})
    pol = identity_policy("{categories: [unverified-actor], paths: ['.github/workflows/**']}")
    ch = change_of(repo, base)
    [f] = run_checks(CheckContext(ch, pol))
    assert (f.category, f.path, f.kind, f.action) == (
        "unverified-actor",
        ".github/workflows/ci.yml",
        "identity",
        "warn",
    )
    assert f.commits == (ch.commits[0].sha,)
    verified = change_of(repo, base, actors=[Actor("alice", "pusher", "pre-receive-env", type="User")])
    assert run_checks(CheckContext(verified, pol)) == []
    repo.commit("docs", files={"docs/x.md": "x\n"})
    assert run_checks(CheckContext(change_of(repo, "HEAD~1"), pol)) == []


# ----- the audit command


def test_identify_range_shape_progress_and_text(repo: Repo) -> None:
    repo.commit(f"agent\n\n{CLAUDE_TRAILER}", files={"a": "1"})
    repo.commit("bump", files={"a": "2"}, author=DEPENDABOT)
    ticks: list[int] = []
    result = identify_range(GitRepo(repo.path), "HEAD", builtin_policy(), ticks.append)
    assert [(r["kind"], r["vendor"]) for r in result["commits"]] == [
        ("automation", "dependabot"),
        ("agent", "claude-code"),
        ("human", None),
    ]
    assert set(result["commits"][0]) == {"sha", "kind", "vendor", "autonomy", "evidence"}
    # a person's commit with Claude as co-author: assisted; only agents have a level
    assert [r["autonomy"] for r in result["commits"]] == [None, "assisted", None]
    assert result["summary"] == {
        "total": 3,
        "by_kind": {"agent": 1, "automation": 1, "human": 1},
        "by_vendor": {"claude-code": 1, "dependabot": 1},
    }
    assert ticks[-1] == 3
    json.dumps(result)  # serialisable as is
    text = render_identify_text(result)
    assert "agent:claude-code (assisted)" in text and "3 commits: agent 1, automation 1, human 1" in text


@pytest.mark.parametrize("rev", ["nope..HEAD", "HEAD..nope", "-x", "nope"])
def test_identify_range_bad_revision_is_a_usage_error(repo: Repo, rev: str) -> None:
    with pytest.raises(UsageError):
        identify_range(GitRepo(repo.path), rev, builtin_policy())


def test_render_escapes_control_characters() -> None:
    row = {
        "sha": "a" * 40,
        "kind": "human",
        "vendor": None,
        "evidence": [{"signal": "author", "value": "x\x1b[31mred\rz", "points_to": "human"}],
    }
    text = render_identify_text(
        {"commits": [row], "summary": {"total": 1, "by_kind": {"human": 1}, "by_vendor": {}}}
    )
    assert "\x1b" not in text and "\r" not in text


def test_cli_identify_and_check_agree(repo: Repo, tmp_path: Path) -> None:
    base = repo.head()
    repo.commit(f"agent\n\n{CLAUDE_TRAILER}", files={"a": "1"})
    repo.commit("bump", files={"a": "2"}, author=DEPENDABOT)
    repo.commit("mine", files={"a": "3"})
    runner = CliRunner()
    ident = runner.invoke(main, ["identify", "--repo", str(repo.path), "--format", "json", f"{base}..HEAD"])
    assert ident.exit_code == 0, ident.output
    chk = runner.invoke(
        main, ["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD", "--format", "json"]
    )
    assert chk.exit_code in (0, 1), chk.output
    a = {r["sha"]: (r["kind"], r["vendor"]) for r in json.loads(ident.output)["commits"]}
    b = {
        c["sha"]: (c["identity"]["kind"], c["identity"]["vendor"]) for c in json.loads(chk.output)["commits"]
    }
    assert a == b and len(a) == 3


def test_identify_masks_secrets_in_every_chunk_of_a_long_history(tmp_path: Path) -> None:
    """identify prefilters commit metadata a thousand commits at a time: a secret quoted by the
    evidence of the first, the last and the commits either side of a chunk edge is masked."""
    from data.secrets.fakes import Fakes
    from test_identify_labelled import Sample, fast_import

    token = Fakes(9).kinds["ghp"]()
    samples = [Sample("human", f"P{i} <p{i}@example.com>", f"change {i}") for i in range(2100)]
    marked = (0, 999, 1000, 1999, 2000, 2099)
    for i in marked:
        samples[i] = Sample("agent", "Claude <noreply@anthropic.com>", f"fix\n\nClaude-Session: {token}")
    shas = fast_import(tmp_path / "r", samples)
    result = identify_range(GitRepo(tmp_path / "r"), "main", builtin_policy())
    assert token not in json.dumps(result)
    rows = {row["sha"]: row for row in result["commits"]}
    for i in marked:
        values = [e["value"] for e in rows[shas[i]]["evidence"]]
        assert any("«redacted:" in v for v in values), (i, values)
    assert result["summary"]["by_kind"] == {"agent": len(marked), "human": 2100 - len(marked)}


def test_identify_learns_secrets_from_whole_quoted_fields(tmp_path: Path) -> None:
    """The redactor reads only the fields a verdict quotes, but whole: a token in a person's name
    (quoted by a human verdict) and one in an agent's subject the evidence cuts at 200 characters
    are both masked; a token in a human's unquoted message cannot reach the output at all."""
    from data.secrets.fakes import Fakes
    from test_identify_labelled import Sample, fast_import

    fakes = Fakes(11).kinds["ghp"]
    in_name, in_footer, unquoted = fakes(), fakes(), fakes()
    subject = "aider: " + "x" * 185 + " " + in_footer  # quoted as its first 200 characters
    samples = [
        Sample("human", f"Mallory {in_name} <m@example.com>", "tidy"),
        Sample("agent", "Dev <dev@example.com>", subject),
        Sample("human", "Pat <pat@example.com>", f"rotate\n\nold token was {unquoted}"),
    ]
    fast_import(tmp_path / "r", samples)
    out = json.dumps(identify_range(GitRepo(tmp_path / "r"), "main", builtin_policy()), ensure_ascii=False)
    for token in (in_name, in_footer, unquoted):
        assert token not in out
        assert token[:12] not in out  # nor a leading part cut short
    assert out.count("«redacted:") >= 2
