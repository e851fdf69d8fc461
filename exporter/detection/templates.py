"""``{{data.x}}`` templates: which fields they reference and their Prometheus form.

Every ``data.`` field a rule's templates reference becomes a label on that rule's metrics, so
the compiled alert can render it as ``{{ $labels.x }}``. Nothing else from ``data`` becomes a
label: unbounded values stay out of Prometheus unless a rule author asks for them.
"""

from __future__ import annotations

import re
from typing import Final

# Labels secmon or Prometheus already own; a data field with such a name gets a data_ prefix.
FIXED_LABELS: Final = frozenset(
    {"rule_id", "severity", "category", "platform", "asset", "environment"}
)
RESERVED_LABELS: Final = FIXED_LABELS | frozenset(
    {"alertname", "channels", "escalation", "job", "instance", "le", "quantile"}
)
_TEMPLATE: Final = re.compile(r"\{\{(.*?)\}\}", re.S)
_REF: Final = re.compile(r"^\s*(data(?:\.[\w\-]+)+|[a-z_]+)\s*$")
_NOT_LABEL: Final = re.compile(r"[^a-zA-Z0-9_]")


class TemplateError(ValueError):
    pass


def label_name(path: str) -> str:
    """Label for a ``data.a.b`` path: ``a_b`` (``data_a_b`` if that clashes or is invalid)."""
    name = _NOT_LABEL.sub("_", "_".join(path.split(".")[1:]))
    if name in RESERVED_LABELS or name[0].isdigit() or name.startswith("__"):
        name = "data_" + name
    return name


def references(text: str) -> list[str]:
    """The ``data.`` paths a template uses; raise :class:`TemplateError` on anything unknown."""
    paths: list[str] = []
    for m in _TEMPLATE.finditer(text):
        ref = _REF.match(m.group(1))
        if ref is None or (
            not ref.group(1).startswith("data.") and ref.group(1) not in FIXED_LABELS
        ):
            allowed = ", ".join(sorted(FIXED_LABELS))
            raise TemplateError(
                f"unsupported template {m.group(0)!r}: use {{{{data.<field>}}}} or one of {allowed}"
            )
        if ref.group(1).startswith("data."):
            paths.append(ref.group(1))
    if "{{" in _TEMPLATE.sub("", text):
        raise TemplateError("unclosed '{{' in template")
    return paths


def to_prometheus(text: str) -> str:
    """Rewrite ``{{data.x}}`` / ``{{asset}}`` into Prometheus ``{{ $labels.… }}`` form."""

    def repl(m: re.Match[str]) -> str:
        ref = m.group(1).strip()
        label = label_name(ref) if ref.startswith("data.") else ref
        return "{{ $labels." + label + " }}"

    return _TEMPLATE.sub(repl, text)
