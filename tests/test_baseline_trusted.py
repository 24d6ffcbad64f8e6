"""The detect-secrets baseline is read at the trusted ref, like the policy; never from the change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cliutil import check_json, cli
from gitutil import Repo

TOKEN = "ghp_" + "Kq3Lw9Mz2Nx8Pv7Rb6Tc5Yd4Ue3If2Og1Ah0Sj"
POLICY = "secrets: {baseline: .secrets.baseline}\n"


def baseline_for(repo: Repo, *files: str) -> str:
    """A real detect-secrets baseline made by its own CLI over the given files."""
    out = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", *files],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


def test_baseline_at_trusted_ref_silences_a_known_secret(repo: Repo) -> None:
    repo.write("cfg.py", f'TOKEN = "{TOKEN}"\n')
    repo.commit("known secret, reviewed", files={".pipeline-guard.yml": POLICY})
    repo.commit("baseline", files={".secrets.baseline": baseline_for(repo, "cfg.py")})
    repo.git("checkout", "-q", "-b", "work")
    # The change adds the reviewed secret on a new line of the same file: the baseline lists it there.
    repo.commit("edit", files={"cfg.py": f'TOKEN = "{TOKEN}"\nBACKUP_TOKEN = "{TOKEN}"\n'})
    data = check_json(repo.path)[1]
    assert data["decision"] == "allow", data["findings"]
    # Control: the same change without the baseline setting blocks.
    repo.git("checkout", "-q", "main")
    repo.commit("drop baseline setting", files={".pipeline-guard.yml": "secrets: {}\n"})
    repo.git("checkout", "-q", "work")
    repo.git("rebase", "-q", "main")
    assert check_json(repo.path)[1]["decision"] == "block"


def test_baseline_added_by_the_change_is_ignored(repo: Repo) -> None:
    repo.commit("policy", files={".pipeline-guard.yml": POLICY})
    repo.git("checkout", "-q", "-b", "work")
    repo.write("cfg.py", f'TOKEN = "{TOKEN}"\n')
    repo.commit("leak and whitelist it", files={".secrets.baseline": baseline_for(repo, "cfg.py")})
    data = check_json(repo.path)[1]
    assert data["decision"] == "block"
    assert any("secret baseline .secrets.baseline not found" in r for r in data["reasons"])  # type: ignore[union-attr]


def test_baseline_beside_a_server_policy(repo: Repo, tmp_path: Path) -> None:
    repo.git("checkout", "-q", "-b", "work")
    repo.commit("leak", files={"cfg.py": f'TOKEN = "{TOKEN}"\n'})
    (tmp_path / "policy.yml").write_text(POLICY)
    (tmp_path / ".secrets.baseline").write_text(baseline_for(repo, "cfg.py"))
    r = cli(
        [
            "check",
            "--repo",
            str(repo.path),
            "--base",
            "main",
            "--format",
            "json",
            "--policy",
            str(tmp_path / "policy.yml"),
        ],
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["decision"] == "allow"
