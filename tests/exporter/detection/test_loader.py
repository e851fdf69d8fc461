"""Loading rule files: the seed's rules unchanged, and every problem reported at once."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from exporter.detection import RuleLoadError, load_rules
from tests.exporter.detection.factories import RULES_DIR, SEED

SEED_RULES = {
    "kong_http_admin_api": "kong",
    "kong_plugin_security_change": "kong",
    "github_workflow_security": "github",
    "aws_security_group_change": "aws",
    "cve_detection": "vulnerabilities",
}


def seed_blocks() -> dict[str, str]:
    text = SEED.read_text(encoding="utf-8")
    section = text[
        text.index("## Detection Rules and Policies") : text.index("## Anomaly Detection")
    ]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return {re.search(r"^rule_id: (\S+)", b, re.M).group(1): b for b in blocks}  # type: ignore[union-attr]


# SHA-256 of each rule's YAML block in the seed document (section "Detection Rules and
# Policies"), taken from the seed, so the copies are checked byte for byte in any clone.
SEED_SHA256 = {
    "kong_http_admin_api": "70cfb460350b42d2c55630f321845a2b26d61816afc102a9f529cdb2b4058561",
    "kong_plugin_security_change": (
        "f6deebeb1422c268d3eadf3814fae1d06c67fd347a38da148daaa36fd784e380"
    ),
    "github_workflow_security": "58bd030c2968851ae6441078870dbb47bae2d7e4aad349dd042fa9547faf54b4",
    "aws_security_group_change": "462c0944f37299753e340431ebce14b6848e3cc8ae81b8d4d42ab90fe7ade8fd",
    "cve_detection": "77d09a394033a0683c12e1ba213f79ea8ce27d89425faaca7e2e307d6be5aeda",
}


def test_seed_rules_are_byte_for_byte_copies() -> None:
    for rule_id, directory in SEED_RULES.items():
        shipped = (RULES_DIR / directory / f"{rule_id}.yaml").read_bytes()
        assert hashlib.sha256(shipped).hexdigest() == SEED_SHA256[rule_id], rule_id
    if SEED.exists():  # beside the repository: the recorded digests are the seed's own
        blocks = seed_blocks()
        assert set(blocks) == set(SEED_RULES)
        for rule_id, block in blocks.items():
            assert hashlib.sha256(block.encode()).hexdigest() == SEED_SHA256[rule_id], rule_id


def test_seed_rules_load() -> None:
    rules = load_rules([RULES_DIR / d / f"{r}.yaml" for r, d in SEED_RULES.items()])
    assert set(rules.ids) == set(SEED_RULES)
    kong = rules["kong_http_admin_api"]
    assert kong.severity == "critical"
    assert kong.kind == "state"
    assert kong.sources == frozenset({"kong_monitor"})
    assert kong.event_types == frozenset({"service_discovery"})
    assert [f.label for f in kong.label_fields] == ["endpoint"]
    assert kong.notify is not None
    assert kong.notify.channels == ["slack_critical", "email_security_team"]
    assert kong.notify.escalation == "immediate"
    assert kong.metadata.cwe_id == "CWE-319"
    assert rules["kong_plugin_security_change"].kind == "change"
    assert rules["aws_security_group_change"].kind == "change"
    assert rules["github_workflow_security"].event_types is None
    cve = rules["cve_detection"]
    assert cve.dynamic
    assert [level for level, _ in cve.severity_bands] == ["critical", "high", "medium", "low"]
    assert cve.conditional["critical"].notify is not None
    assert cve.other_actions[0] == "create_vulnerability_record"


def test_whole_rules_directory_loads() -> None:
    rules = load_rules([RULES_DIR])
    assert set(SEED_RULES) <= set(rules.ids)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
rule_id: {rule_id}
name: "A rule"
severity: high
category: configuration_security
conditions:
  - source: kong_monitor
  - data.protocol == "http"
"""


def test_multi_document_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "many.yaml",
        GOOD.format(rule_id="one") + "---\n" + GOOD.format(rule_id="two") + "---\n",
    )
    assert load_rules([path]).ids == ("one", "two")


def test_directories_are_searched_recursively_for_yaml_and_yml(tmp_path: Path) -> None:
    write(tmp_path, "a/one.yaml", GOOD.format(rule_id="one"))
    write(tmp_path, "b/c/two.yml", GOOD.format(rule_id="two"))
    write(tmp_path, "b/readme.md", "not a rule")
    assert set(load_rules([tmp_path]).ids) == {"one", "two"}


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        """\
rule_id: broken_expressions
name: "Broken"
severity: high
category: configuration_security
conditions:
  - source: kong_monitor
  - data.protocol = "http"
  - OR:
    - data.port IN 8001
    - data.ok == true
actions:
  - create_alert:
      title: "x {{data.endpoint}}"
      message: "{{ secret }}"
  - page_everyone
""",
    )
    write(
        tmp_path,
        "b.yaml",
        """\
rule_id: Bad-Id
name: "Bad"
severity: urgent
category: configuration_security
conditions: []
colour: blue
""",
    )
    write(tmp_path, "c.yaml", "rule_id: [unclosed\n")
    with pytest.raises(RuleLoadError) as info:
        load_rules([tmp_path, tmp_path / "missing.yaml"])
    problems = info.value.problems
    text = str(info.value)
    by = {(Path(p.file).name, p.line, p.message.split(":")[0]) for p in problems}
    assert ("a.yaml", 7, "unexpected character '=' (column 15)") in by
    assert ("a.yaml", 9, 'IN needs a list such as ["a", "b"], not 8001 (column 14)') in by
    assert any(p.line == 14 and "unsupported template" in p.message for p in problems)
    assert any(p.line == 15 and "unknown action 'page_everyone'" in p.message for p in problems)
    a_problems = [p for p in problems if p.file.endswith("a.yaml")]
    assert {p.rule_id for p in a_problems} == {"broken_expressions"}
    assert 'data.protocol = "http"' in text
    b = {p.message.split(":")[0]: p.line for p in problems if p.file.endswith("b.yaml")}
    assert b == {"rule_id": 1, "severity": 3, "conditions": 5, "colour": 6}
    assert any(p.file.endswith("c.yaml") and "invalid YAML" in p.message for p in problems)
    assert any(p.file.endswith("missing.yaml") and "no such file" in p.message for p in problems)
    assert text.startswith(f"{len(problems)} problems in detection rules")


def test_duplicate_rule_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", GOOD.format(rule_id="same"))
    write(tmp_path, "b.yaml", "# leading comment\n" + GOOD.format(rule_id="same"))
    with pytest.raises(RuleLoadError) as info:
        load_rules([tmp_path])
    (problem,) = info.value.problems
    assert problem.file.endswith("b.yaml")
    assert problem.line == 2
    assert problem.rule_id == "same"
    assert f"first defined at {first}:1" in problem.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("severity: varies_by_cvss\n", "varies_by_cvss needs a dynamic_severity block"),
        ("dynamic_severity:\n  high: data.x >= 1\n", "only allowed with severity: varies_by_cvss"),
        ("kind: sometimes\n", "kind"),
        ("for: soon\n", "for"),
        ("conditions:\n  - data.x: y\n", 'write it as an expression: data.x == "y"'),
        ("conditions:\n  - source: [1, {a: b}]\n", "source: needs a value"),
        ("conditions:\n  - 42\n", "not int 42"),
        ("conditions:\n  - OR: []\n", "non-empty list"),
        ("actions:\n  - notify:\n      channels: slack\n", "notify.channels"),
        (
            "actions:\n  - create_alert: {title: a}\n  - create_alert: {title: b}\n",
            "only one create_alert",
        ),
        ("actions:\n  - if_severity_high: {create_alert: {title: t}}\n", "not allowed inside"),
        (
            "actions:\n  - create_alert:\n      title: '{{data.a-b}} {{data.a_b}}'\n",
            "would both be label",
        ),
        ("metadata:\n  cwe_id: 319\n", "metadata.cwe_id"),
    ],
)
def test_structural_problems(tmp_path: Path, body: str, message: str) -> None:
    base = GOOD.format(rule_id="r")
    keys = {line.split(":")[0] for line in body.splitlines() if line and not line.startswith(" ")}
    kept = "".join(
        line + "\n"
        for line in base.splitlines()
        if not line.startswith(("  ", *keys))
        or (line.startswith("  ") and "conditions" not in keys)
    )
    path = write(tmp_path, "r.yaml", kept + body)
    with pytest.raises(RuleLoadError) as info:
        load_rules([path])
    assert message in str(info.value)
