"""Reading secrets from files (Docker/Kubernetes secrets, Alertmanager ``credentials_file``)."""

from __future__ import annotations

from pathlib import Path


def read_secret_file(path: Path) -> str:
    """The file's content without the trailing newline editors and ``echo`` add.

    Raises ``ValueError`` naming the path (never the content) when it cannot be read or is empty.
    """
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"cannot read secret file {path}: {reason}") from None
    if not value:
        raise ValueError(f"secret file {path} is empty")
    return value
