"""Array parameters joined into one text: the same arrays arrive in PostgreSQL, or the
statement falls back to its array form."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from bridge.store.postgres_columns import NULL, UNIT, JoinedStatement, joined
from tests.bridge.helpers import BridgeClient, get_alerts, make_alert, make_payload, post_payload

STATEMENT = JoinedStatement.of(
    "SELECT $1::text[] AS t, $2::bigint[] AS i, $3::float8[] AS f, $4::bool[] AS b, "
    "$5::timestamptz[] AS ts, $6::int AS n, cardinality($2::bigint[]) AS c"
)


def test_the_joined_form_splits_every_array_parameter_and_nothing_else() -> None:
    assert STATEMENT.kinds == {0: "text", 1: "bigint", 2: "float8", 3: "bool"}
    assert "string_to_array($1, E'\\x1f', E'\\x1e')::text[]" in STATEMENT.joined
    assert STATEMENT.joined.count("string_to_array($2,") == 2
    assert "$5::timestamptz[]" in STATEMENT.joined
    assert "$6::int" in STATEMENT.joined


def test_values_are_joined_with_null_marked() -> None:
    assert joined(["a", None, ""], "text") == f"a{UNIT}{NULL}{UNIT}"
    assert joined([1, None, 3], "bigint") == f"1{UNIT}{NULL}{UNIT}3"
    assert joined([0.5, None], "float8") == f"0.5{UNIT}{NULL}"
    assert joined([True, False, None], "bool") == f"t{UNIT}f{UNIT}{NULL}"
    assert joined([], "text") == ""


@pytest.mark.parametrize(
    "values", [[f"a{UNIT}b"], [f"a{NULL}"], [NULL], ["x", f"{UNIT}"], [""]], ids=repr
)
def test_values_that_cannot_be_joined_unambiguously_are_refused(values: list[str]) -> None:
    assert joined(values, "text") is None
    statement, arguments = STATEMENT.bind([values, [1], [1.0], [True], [], 1])
    assert statement == STATEMENT.arrays
    assert arguments[0] == values


ROWS: list[list[Any]] = [
    [["alert", None, "", "ünïcødé ✓", "quote ' and \" and \\ and {,}"], [1, None, 2**40],
     [0.1, None, float("inf"), -2.5e-300], [True, None, False], [], 7],
    [[], [], [], [], [], 0],
    [["only"], [5], [1.0], [False], [], 1],
    [[f"unit {UNIT} inside", None], [1, 2], [1.0, 2.0], [True, True], [], 2],
    [[""], [1], [1.0], [True], [], 1],
]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("arguments", ROWS, ids=range(len(ROWS)))
async def test_both_forms_give_postgresql_the_same_arrays(
    postgres_url: str, arguments: list[Any]
) -> None:
    statement, bound = STATEMENT.bind(arguments)
    connection = await asyncpg.connect(postgres_url)
    try:
        expected = dict(await connection.fetchrow(STATEMENT.arrays, *arguments))
        got = dict(await connection.fetchrow(statement, *bound))
    finally:
        await connection.close()
    assert got == expected
    assert expected["t"] == arguments[0]
    fallback = any(isinstance(v, str) and (UNIT in v or NULL in v) for v in arguments[0])
    fallback = fallback or arguments[0] == [""]
    assert (statement == STATEMENT.arrays) == fallback


async def test_labels_holding_the_separators_are_stored_exactly(client: BridgeClient) -> None:
    # Such a label makes both PostgreSQL statements fall back to their array form; the
    # other alerts of the same webhook are joined as usual in the next one.
    odd = {"note": f"a{UNIT}b{NULL}c", "asset": f"web{UNIT}1"}
    status, _ = await post_payload(client, make_payload(make_alert("f1", **odd)))
    assert status == 200
    status, _ = await post_payload(client, make_payload(make_alert("f2"), make_alert("f3")))
    assert status == 200
    alerts = {a["fingerprint"]: a for a in await get_alerts(client)}
    assert set(alerts) == {"f1", "f2", "f3"}
    assert alerts["f1"]["labels"]["note"] == odd["note"]
    assert alerts["f1"]["asset_id"] == odd["asset"]
