"""Remediation playbook look-up: alert annotations first, then ``playbooks/*.md`` files.

Order: the ``runbook_url`` annotation (an explicit link the rule author chose), the
``remediation`` annotation (the rule's own advice), ``playbooks/<rule_id>.md``, then
``playbooks/<category>.md``. The directory is listed once at start-up and names are matched
against that listing, so a crafted ``rule_id`` such as ``../../etc/passwd`` can never reach
the file system.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bridge.frozen import frozen


@frozen
class PlaybookMatch:
    """The playbook found (a URL, advice text, or a file path) and where it came from."""

    value: str
    source: str


class PlaybookLibrary:
    """Resolves the playbook for an alert from its annotations and a directory of markdown."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._files: dict[str, Path] = {}
        if directory is not None and directory.is_dir():
            self._files = {path.stem: path for path in sorted(directory.glob("*.md"))}

    @property
    def names(self) -> list[str]:
        return sorted(self._files)

    def find(
        self, annotations: Mapping[str, str], rule_id: str | None, category: str | None
    ) -> PlaybookMatch | None:
        url = annotations.get("runbook_url", "").strip()
        if url:
            return PlaybookMatch(url, "runbook_url annotation")
        advice = annotations.get("remediation", "").strip()
        if advice:
            return PlaybookMatch(advice, "remediation annotation")
        for key, what in ((rule_id, "rule"), (category, "category")):
            if key and key in self._files:
                return PlaybookMatch(str(self._files[key]), f"playbook file for {what} {key!r}")
        return None
