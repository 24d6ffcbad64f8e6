"""Measured identification: a labelled set written into a real repository, precision and recall.

The labelled commits (tests/data/identity/labelled.yml) follow the catalogue's cited real commits
plus hard negatives; on top come a few hundred generated people, many of whom write about agents
in prose. Every commit is written with `git fast-import` (exact author/committer/message bytes)
and read back through GitRepo, so the measurement covers the real parsing path.
"""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from guard.fingerprints import load_fingerprints
from guard.git.repo import GitRepo
from guard.identify import identify_commit

DATA = Path(__file__).parent / "data" / "identity" / "labelled.yml"
_PERSON = re.compile(r"^(.*?) <(.*)>$")


@dataclass
class Sample:
    label: str  # "agent:<vendor>", "automation:<bot>", "human"
    author: str
    message: str
    committer: str | None = None
    branch: str | None = None
    merge: bool = False
    cite: str = ""


def fast_import(path: Path, samples: Iterable[Sample], start: int = 1_600_000_000) -> list[str]:
    """Write samples as commits on `main` (oldest first) with `git fast-import`; return their shas.

    A merge sample gets the previous commit and the one before it as parents.
    """
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    chunks: list[bytes] = []
    n = 0
    for n, s in enumerate(samples, 1):
        committer = s.committer or s.author
        msg = s.message.encode()
        when = f"{start + n} +0000"
        parents = f"from :{n - 1}\n" if n > 1 else ""
        if s.merge and n > 2:
            parents += f"merge :{n - 2}\n"
        content = f"{n}\n".encode()
        chunks.append(
            f"commit refs/heads/main\nmark :{n}\n".encode()
            + f"author {s.author} {when}\ncommitter {committer} {when}\n".encode()
            + f"data {len(msg)}\n".encode()
            + msg
            + f"\n{parents}M 100644 inline f.txt\ndata {len(content)}\n".encode()
            + content
            + b"\n"
        )
    marks = path / ".git" / "pg-marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        cwd=path,
        input=b"".join(chunks),
        check=True,
    )
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    return [by_mark[f":{i}"] for i in range(1, n + 1)]


def load_labelled(groups: tuple[str, ...] = ("agents", "automation", "humans")) -> list[Sample]:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    out = []
    for group in groups:
        for e in data[group]:
            out.append(
                Sample(
                    label=e["label"],
                    author=e["author"],
                    message=e["message"].rstrip("\n"),
                    committer=e.get("committer"),
                    branch=e.get("branch"),
                    merge=bool(e.get("merge")),
                    cite=e.get("cite", ""),
                )
            )
    return out


FIRST = ["Alice", "Bob", "Carlos", "Dana", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena"]
LAST = ["Smith", "Tanaka", "Müller", "Okafor", "Novak", "Rossi", "Kowalski", "Haddad", "Nguyen", "O'Brien"]
DOMAINS = [
    "example.com",
    "gmail.com",
    "users.noreply.github.com",
    "anthropic.com",
    "openai.com",
    "google.com",
    "cursor.com",
    "all-hands.dev",
    "github.com",
    "codeium.com",
    "uni-example.edu",
]
SUBJECTS = [
    "Fix null check in parser",
    "Add retry to HTTP client",
    "Update README with Claude Code setup notes",
    "Document how Copilot reviews pull requests",
    "Support Codex and Cursor config files in the linter",
    "Rename agent module",
    "Bump version to 2.3.0",
    "Merge branch 'main' into feature/x",
    'Revert "Add experimental Gemini provider"',
    "refactor: split the bot detector",
    "docs: mention Devin and Jules in FAQ",
    "aider-style prompt template for our own tool",
    "ci: cache pip downloads",
    "test: cover dependabot config parsing",
    "Handle [bot] suffix in usernames",
]
BODIES = [
    "",
    "I tried Claude for this but ended up writing it myself.",
    "Reviewed-by: Jon Doe <jon@doe.example>",
    "Signed-off-by: {name} <{email}>",
    "Co-authored-by: Maria Garcia <maria.garcia@example.com>",
    "Fixes #123.\n\nNote: Copilot suggested a different approach; not used.",
    "Generated-by: sqlc v1.25.0",
    "See https://github.com/org/repo/pull/42 (opened from copilot/fix-1).",
    "Thanks to the OpenHands team for the report.",
]


def generated_people(n: int) -> list[Sample]:
    rnd = random.Random(3)
    out = []
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        domain = rnd.choice(DOMAINS)
        local = f"{first}.{last}".lower().replace("'", "")
        if domain == "users.noreply.github.com":
            local = f"{1000 + i}+{first.lower()}{i}"
        email = f"{local}@{domain}"
        subject = rnd.choice(SUBJECTS)
        body = rnd.choice(BODIES).format(name=f"{first} {last}", email=email)
        message = f"{subject}\n\n{body}" if body else subject
        branch = rnd.choice([None, None, "feature/agents-page", f"fix/{i}", "codegen-update", "main"])
        out.append(
            Sample(
                "human",
                f"{first} {last} <{email}>",
                message,
                branch=branch,
                merge=subject.startswith("Merge"),
            )
        )
    return out


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Sample, str]]:
    samples = load_labelled() + generated_people(300)
    path = tmp_path_factory.mktemp("labelled") / "repo"
    shas = fast_import(path, samples)
    commits = {c.sha: c for c in GitRepo(path).iter_commits(["main"])}
    fp = load_fingerprints()
    out = []
    for s, sha in zip(samples, shas, strict=True):
        ident = identify_commit(commits[sha], fp, branch=s.branch)
        out.append((s, ident.label))
    return out


def _metrics(pred: list[tuple[Sample, str]]) -> dict[str, float]:
    def kind(label: str) -> str:
        return label.split(":", 1)[0]

    agents = [(s, p) for s, p in pred if kind(s.label) == "agent"]
    autos = [(s, p) for s, p in pred if kind(s.label) == "automation"]
    humans = [(s, p) for s, p in pred if s.label == "human"]
    flagged = [(s, p) for s, p in pred if kind(p) == "agent"]
    return {
        "agents": len(agents),
        "automation": len(autos),
        "humans": len(humans),
        "agent_recall": sum(kind(p) == "agent" for _, p in agents) / len(agents),
        "agent_vendor_accuracy": sum(p == s.label for s, p in agents) / len(agents),
        "agent_precision": sum(kind(s.label) == "agent" for s, _ in flagged) / len(flagged),
        "humans_flagged_agent": sum(kind(p) == "agent" for _, p in humans) / len(humans),
        "human_recall": sum(p == "human" for _, p in humans) / len(humans),
        "automation_vs_agent": (
            sum(kind(p) == "automation" for _, p in autos) + sum(kind(p) == "agent" for _, p in agents)
        )
        / (len(autos) + len(agents)),
        "automation_bot_accuracy": sum(p == s.label for s, p in autos) / len(autos),
    }


def test_targets(predictions: list[tuple[Sample, str]]) -> None:
    m = _metrics(predictions)
    print("\nidentification metrics:", {k: round(v, 4) for k, v in m.items()})
    wrong = [(s.cite or s.author, s.label, p) for s, p in predictions if p != s.label]
    assert m["humans"] >= 200
    assert m["agent_recall"] >= 0.97, wrong
    assert m["humans_flagged_agent"] <= 1 / 200, wrong
    assert m["automation_vs_agent"] >= 0.95, wrong


def test_every_labelled_commit_exact(predictions: list[tuple[Sample, str]]) -> None:
    """Beyond the targets: the hand-labelled set (not the generated people) is classified exactly."""
    labelled = len(load_labelled())
    wrong = [(s.cite, s.label, p) for s, p in predictions[:labelled] if p != s.label]
    assert wrong == []


def test_markerless_agent_work_is_invisible_in_commits_but_not_to_a_verified_actor(tmp_path: Path) -> None:
    """The documented limit: stripped agent commits read as human; a door's verified actor (or the
    branch) is what still catches them (docs/identification.md)."""
    from guard.identify_change import identify_change
    from guard.model import Actor
    from guard.policy import builtin_policy

    samples = load_labelled(("undetectable",))
    shas = fast_import(tmp_path / "repo", samples)
    repo = GitRepo(tmp_path / "repo")
    fp = load_fingerprints()
    commits = {c.sha: c for c in repo.iter_commits(["main"])}
    assert [identify_commit(commits[s], fp).kind for s in shas] == ["human"] * len(samples)
    change = repo.build_change(shas[0], shas[-1], per_commit_files=False)
    change.actors = [Actor("google-labs-jules[bot]", "pr-author", "github-event", id="161369871", type="Bot")]
    identify_change(change, builtin_policy())
    assert [c.identity.label for c in change.commits] == ["agent:jules"] * (len(samples) - 1)
