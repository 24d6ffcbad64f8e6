"""The wheel a non-editable `pip install .` builds ships the rule packs, and the installed code finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_rules_and_installed_code_finds_them(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(dist.glob("pipeline_guard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "guard/rules/default.yml" in names and "guard/rules/agents.yml" in names
    assert "guard/cli.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)

    # Unpack the wheel as an installed package would lie, away from the checkout, and load the
    # built-in policy from there (the checkout's top-level rules/ must not be what is found).
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import guard.policy as p, guard.fingerprints as i; "
        "print(p.RULES_DIR); print(len(p.builtin_policy().rules)); print(i.load_fingerprints() is not None)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site)},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rules_dir, count, fps = run.stdout.split()
    assert Path(rules_dir) == site / "guard" / "rules"
    assert int(count) > 5 and fps == "True"


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    fence = readme.index("```sh")
    install, tests = readme[fence + 1], readme[fence + 2]
    assert "pip install ." in install and install.endswith("pipeline-guard check")
    assert tests.startswith("bash .ci/run") and ".venv/bin/python -m pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\n.venv/bin/python -m pytest" in ci  # the very command the README names


def test_every_test_the_readme_names_exists() -> None:
    """The attacks table promises a test per row: each named test must exist (in the named module)."""
    import re

    readme = (ROOT / "README.md").read_text()
    defined: dict[str, set[str]] = {}
    for p in (ROOT / "tests").glob("test_*.py"):
        for m in re.finditer(r"^def (test_\w+)", p.read_text(), re.M):
            defined.setdefault(m.group(1), set()).add(p.stem)
    named = re.findall(r"`(?:(test_\w+)\.py::)?(test_\w+)`", readme)
    assert len(named) > 30
    missing = [
        (mod, name) for mod, name in named if name not in defined or (mod and mod not in defined[name])
    ]
    assert missing == []
