"""The check registry: every rule kind has its checks, every check documents itself."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from guard.checks.registry import CHECKS, checks_for
from guard.policy import builtin_policy

ROOT = Path(__file__).parent.parent


def test_every_rule_kind_the_builtin_policy_uses_has_a_registered_check() -> None:
    kinds = {r.kind for r in builtin_policy().rules}
    assert kinds and all(checks_for(k) for k in kinds)


def test_each_check_names_an_existing_docs_page_and_a_unique_id() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    for c in CHECKS:
        page = c.meta.docs.split("#")[0]
        assert (ROOT / "docs" / page).is_file(), c.meta.id
        assert c.meta.description and c.meta.categories
        assert callable(c.load())


def test_the_rule_kinds_of_the_policy_schema_are_exactly_the_registered_ones() -> None:
    from guard.policy import Rule

    declared = set(get_args(Rule.model_fields["kind"].annotation))
    assert declared == {c.meta.kind for c in CHECKS}
