"""``secmon-exporter rules check|compile``: the rule author's command-line tools."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from exporter.detection.compiler import compile_rules_yaml
from exporter.detection.loader import load_rules, rule_files
from exporter.detection.model import RuleLoadError, RuleSet

DEFAULT_PATHS: tuple[str, ...] = ("rules",)


def _load(paths: Sequence[str], err: TextIO) -> RuleSet | None:
    chosen = list(paths) or list(DEFAULT_PATHS)
    try:
        rules = load_rules(chosen)
    except RuleLoadError as exc:
        print(exc, file=err)
        return None
    if not rules:
        # An empty rule set is almost always a wrong path, and would silently disable detection.
        print(f"no rules found in {', '.join(chosen)}", file=err)
        return None
    return rules


def check_command(
    paths: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Validate rule files; print every problem; 0 only when all rules load."""
    out, err = out or sys.stdout, err or sys.stderr
    rules = _load(paths, err)
    if rules is None:
        return 1
    files, _ = rule_files(list(paths) or list(DEFAULT_PATHS))
    print(f"{len(rules)} rules in {len(files)} files: OK", file=out)
    return 0


def compile_command(
    paths: Sequence[str],
    output: str | None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Compile rules to a Prometheus rule file at ``output`` (stdout when ``None`` or ``-``)."""
    out, err = out or sys.stdout, err or sys.stderr
    rules = _load(paths, err)
    if rules is None:
        return 1
    text = compile_rules_yaml(rules)
    if output is None or output == "-":
        out.write(text)
        return 0
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: a Prometheus reload never reads a half-written rule file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {len(rules)} alerting rules to {target}", file=err)
    return 0
