"""The false-alarm fixes (rewritten release jobs, release steps swapped in place) and the attacks
they must not let through; and the measured accuracy on the committed corpus of real CI changes."""

from __future__ import annotations

import sys
from pathlib import Path

from test_permissions_helpers import dict_change

from guard.checks import permissions, release

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from ci_false_alarms import TARGET_FALSE_ALARMS, TARGET_RECALL, measure

WF = ".github/workflows/pypi.yml"
HEAD = "on:\n  release:\n    types: [published]\npermissions: {}\njobs:\n"
BUILD = "  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python -m build\n"


def publish_job(name: str) -> str:
    return (
        f"  {name}:\n    runs-on: ubuntu-latest\n    environment: release\n"
        "    permissions:\n      id-token: write\n    steps:\n"
        "      - uses: pypa/gh-action-pypi-publish@ed0c53931b1dc9bd32cbe73a98c7f6766f8a527e\n"
    )


def cats(before: str, after: str) -> set[str]:
    change = dict_change({WF: before}, {WF: after})
    found = permissions.candidates(change) + release.candidates(change)
    return {c.category for c in found if c.category != "unpinned-action"}


def test_release_job_split_into_build_and_publish_is_silent() -> None:
    before = HEAD + publish_job("main").replace("    steps:\n", "    steps:\n      - run: python -m build\n")
    assert cats(before, HEAD + BUILD + publish_job("publish")) == set()


def test_second_job_given_the_release_grants_is_caught() -> None:
    # The old job keeps its OIDC grant and environment: a new job holding them too is new power.
    before = HEAD + publish_job("main")
    after = HEAD + publish_job("main") + publish_job("sneaky")
    assert {"id-token", "new-environment"} <= cats(before, after)


def test_job_moved_to_a_new_file_is_silent_and_copied_is_caught() -> None:
    change = dict_change(
        {WF: HEAD + publish_job("main")},
        {WF: HEAD + BUILD, ".github/workflows/other.yml": HEAD + publish_job("main")},
    )
    found = {c.category for c in permissions.candidates(change) + release.candidates(change)}
    # A verbatim move of the job finds its old self: nothing new; the file-level rule is not needed.
    assert "id-token" not in found
    change = dict_change(
        {WF: HEAD + publish_job("main")},
        {WF: HEAD + publish_job("main"), ".github/workflows/other.yml": HEAD + publish_job("copy")},
    )
    found = {c.category for c in permissions.candidates(change) + release.candidates(change)}
    assert "id-token" in found


def job(step: str) -> str:
    return (
        HEAD
        + "  up:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n"
        + (f"    steps:\n      - {step}\n")
    )


def test_release_action_swapped_for_its_cli_is_silent() -> None:
    before = job("uses: softprops/action-gh-release@a06a81a03ee405af7f2048a818ed3f03bbf83c7b")
    assert cats(before, job('run: gh release upload "$tag" dist/x')) == set()


def test_release_action_swapped_for_another_registry_is_caught() -> None:
    before = job("uses: softprops/action-gh-release@a06a81a03ee405af7f2048a818ed3f03bbf83c7b")
    assert "publish-step" in cats(before, job("run: npm publish"))


def test_real_ci_corpus_meets_the_targets() -> None:
    fig = measure()
    assert fig.positives + fig.negatives == 200 and fig.positives == 7
    assert fig.recall >= TARGET_RECALL, fig.missed
    assert fig.false_alarm_rate <= TARGET_FALSE_ALARMS, fig.false_alarms
