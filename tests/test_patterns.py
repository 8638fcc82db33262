"""Every rule in patterns/ against its own examples, one test per example."""

from __future__ import annotations

import tomllib

import pytest

from attrap.resources import data_dir
from attrap.rules.classify import load_rules, normalize_for_matching

RULES = {r.id: r for r in load_rules().rules}
CASES = []
for path in sorted(data_dir("patterns").glob("*.toml")):
    for rule in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", []):
        CASES += [
            pytest.param(rule["id"], ex, True, id=f"{rule['id']}+{i}")
            for i, ex in enumerate(rule.get("must_match", []))
        ]
        CASES += [
            pytest.param(rule["id"], ex, False, id=f"{rule['id']}-{i}")
            for i, ex in enumerate(rule.get("must_not_match", []))
        ]


def test_every_rule_has_examples_both_ways():
    assert len(RULES) >= 5
    for rule_id in RULES:
        kinds = {should for rid, _, should in (c.values for c in CASES) if rid == rule_id}
        assert kinds == {True, False}, f"{rule_id} needs must_match and must_not_match examples"


@pytest.mark.parametrize(("rule_id", "example", "should_match"), CASES)
def test_rule_example(rule_id, example, should_match):
    assert (RULES[rule_id].find(normalize_for_matching(example)) is not None) is should_match


def test_the_schema_in_patterns_readme_shows_every_key_the_files_take():
    """patterns/README.md's examples name each key the contracts accept, and no other."""
    import re

    from attrap.rules.classify import CategoryEntry, RuleEntry
    from attrap.rules.details import WindowEntry
    from tests.conftest import ROOT

    readme = (ROOT / "patterns" / "README.md").read_text(encoding="utf-8")
    tables: dict[str, set[str]] = {}
    for block in re.findall(r"```toml\n(.*?)```", readme, re.S):
        [table] = re.findall(r"^\[\[(\w+)\]\]$", block, re.M)
        tables[table] = set(re.findall(r"^(\w+) *=", block, re.M))
    assert tables == {
        "category": set(CategoryEntry.model_fields),
        "rule": set(RuleEntry.model_fields),
        "window": set(WindowEntry.model_fields),
    }
