"""Migration numbering: contiguous per dialect, refusing a database newer than the code."""

from __future__ import annotations

import pytest

from bridge.store.migrate import Migration, check_versions, load_migrations, pending


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_shipped_migrations_are_contiguous(dialect: str) -> None:
    migrations = load_migrations(dialect)  # type: ignore[arg-type]
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


@pytest.mark.parametrize("versions", [[1, 2, 4], [2, 3], [1, 1, 2]])
def test_gaps_and_duplicates_are_refused(versions: list[int]) -> None:
    with pytest.raises(ValueError, match="without gaps or duplicates"):
        check_versions("sqlite", versions)


def test_pending_is_what_is_newer_and_a_newer_database_is_refused() -> None:
    migrations = [Migration(v, f"m{v}", "") for v in (1, 2, 3)]
    assert [m.version for m in pending(migrations, 1)] == [2, 3]
    assert pending(migrations, 3) == []
    with pytest.raises(ValueError, match="newer than this bridge"):
        pending(migrations, 4)
