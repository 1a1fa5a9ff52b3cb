"""The behaviour every SQL connector shares, as a test class each connector's tests inherit.

Usage, in ``tests/<connector>/test_<connector>_behaviour.py``::

    class TestPostgresBehaviour(SQLConnectorBehaviour):
        @pytest.fixture
        def backend(self, ...) -> SQLBackend:
            return SQLBackend(connector=..., data_source_model=..., create_table=...)

The tables are created through `backend.create_table(name, columns, rows)`, which returns the
name to write in SQL (prefixed or schema-qualified so parallel runs do not collide). Only types
every dialect maps the same way appear here: integers, text, floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from toucan_connectors.errors import InvalidDataSourceError, ProviderError, ToucanConnectorError
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.sql import SQLConnector, SQLDataSource

CreateTable = Callable[[str, str, Sequence[Sequence[Any]]], str]

CITY_ROWS = [("Paris", 2), ("Parma", 1), ("Lyon", 3), ("Lyon (2e)", 4), ("50% off", 0)]
"""The `city` table of cases C01 and C06 (C06 adds "L'Haÿ")."""

PEOPLE_ROWS = [
    (1, "Ann", "FR", 2019, 10.5),
    (2, "Bob", "FR", 2021, None),
    (3, "Cy", "BE", 2022, 5.0),
    (4, None, "DE", 2020, 7.25),
    (5, "Eve", "FR", 2023, 1.0),
]


def frame(columns: dict[str, Any]) -> pd.DataFrame:
    """Build an expected frame; plain lists of ints become Int64, of strings str."""
    data = {}
    for name, values in columns.items():
        if isinstance(values, list) and all(isinstance(v, int) or v is None for v in values):
            data[name] = pd.array(values, dtype="Int64")
        elif isinstance(values, list) and all(isinstance(v, str) or v is None for v in values):
            data[name] = pd.array(values, dtype="str")
        else:
            data[name] = values
    return pd.DataFrame(data)


@dataclass
class SQLBackend:
    """What the suite needs from a connector's tests."""

    connector: SQLConnector
    data_source_model: type[SQLDataSource]
    create_table: CreateTable
    database: str | None = None
    supports_read_only: bool = True
    supports_parenthesised_query: bool = True
    booleans_are_integers: bool = False
    """MySQL: BOOLEAN is TINYINT(1), read as Int64 (a documented limitation)."""
    extra_fields: dict[str, Any] = field(default_factory=dict)

    def data_source(self, query: str | None = None, **fields: Any) -> SQLDataSource:
        """A data source of this backend's database."""
        return self.data_source_model(
            domain="test",
            name=self.connector.name,
            database=self.database,
            query=query,
            **{**self.extra_fields, **fields},
        )


class SQLConnectorBehaviour:
    """Tests every SQL connector passes; subclasses provide the `backend` fixture."""

    @pytest.fixture
    def city(self, backend: SQLBackend) -> str:
        return backend.create_table("city", "name text, pop int", CITY_ROWS)

    @pytest.fixture
    def people(self, backend: SQLBackend) -> str:
        return backend.create_table(
            "people",
            "id int, name varchar(20), country varchar(2), year int, score double precision",
            PEOPLE_ROWS,
        )

    @pytest.fixture
    def numbers(self, backend: SQLBackend) -> str:
        return backend.create_table("numbers", "n int", [(n,) for n in range(1, 26)])

    # Retrieval -------------------------------------------------------------------------------

    def test_get_df_returns_rows_in_query_order(self, backend, city):
        ds = backend.data_source(f"SELECT name, pop FROM {city} ORDER BY pop DESC")

        df = backend.connector.get_df(ds)

        expected = frame(
            {"name": ["Lyon (2e)", "Lyon", "Paris", "Parma", "50% off"], "pop": [4, 3, 2, 1, 0]}
        )
        assert_frame_equal(df, expected)

    def test_table_data_source_reads_the_whole_table(self, backend, city):
        ds = backend.data_source(table=city)

        df = backend.connector.get_df(ds).sort_values("pop", ignore_index=True)

        expected = frame(
            {"name": ["50% off", "Parma", "Paris", "Lyon", "Lyon (2e)"], "pop": [0, 1, 2, 3, 4]}
        )
        assert_frame_equal(df, expected)

    def test_table_name_is_quoted_not_pasted(self, backend, city):
        ds = backend.data_source(table=f"{city} WHERE 1=0; DROP TABLE {city}")

        with pytest.raises(ToucanConnectorError):
            backend.connector.get_df(ds)
        assert len(backend.connector.get_df(backend.data_source(table=city))) == 5

    @pytest.mark.parametrize("table", ["{{ table }}", "x_{% if 1 %}y{% endif %}"])
    def test_a_templated_table_is_refused(self, backend, city, table):
        with pytest.raises(ValueError, match="is a template: name the table itself"):
            backend.data_source(table=table, parameters={"table": city})

    def test_a_table_is_not_rendered(self, backend):
        ds = backend.data_source(table="plain", parameters={"plain": "other"})

        assert ds.rendered().table == "plain"

    def test_data_source_needs_exactly_one_of_query_and_table(self, backend):
        with pytest.raises(ValueError, match="set exactly one of them"):
            backend.data_source("SELECT 1", table="x")

    def test_a_missing_table_is_an_input_error_pointing_at_discover(self, backend):
        ds = backend.data_source(table="nope_tc")
        message = (
            'The table "nope_tc" of data source "test" does not exist: fix `table` (discover '
            "lists the tables there are)."
        )

        with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
            backend.connector.get_df(ds)
        with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
            backend.connector.get_slice(ds, limit=2, get_row_count=True)

    def test_a_refused_query_points_at_describe_in_words_for_python_and_the_cli(self, backend):
        ds = backend.data_source("SELECT no_such_column_tc")

        with pytest.raises(ProviderError) as raised:
            backend.connector.get_df(ds)

        assert str(raised.value).endswith(
            ". Fix the query (describe shows the columns it returns)."
        )

    def test_two_statements_are_refused(self, backend, city):
        ds = backend.data_source(f"SELECT * FROM {city}; DELETE FROM {city}")

        with pytest.raises(InvalidDataSourceError, match="write a single SELECT"):
            backend.connector.get_df(ds)

    # C01: literal % ---------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("where", "parameters", "names"),
        [
            ("name LIKE 'Par%'", None, ["Paris", "Parma"]),
            ("name LIKE 'Par%' AND pop > {{ min_pop }}", {"min_pop": 0}, ["Paris", "Parma"]),
            ("name LIKE 'Par%' AND pop > %(min_pop)s", {"min_pop": 0}, ["Paris", "Parma"]),
            ("name LIKE '%(%'", None, ["Lyon (2e)"]),
            ("name LIKE '% off'", None, ["50% off"]),
        ],
        ids=["like-prefix", "jinja-parameter", "pyformat-parameter", "paren-inside", "suffix"],
    )
    def test_literal_percent_in_sql(self, backend, city, where, parameters, names):
        ds = backend.data_source(
            f"SELECT name FROM {city} WHERE {where} ORDER BY name", parameters=parameters
        )

        df = backend.connector.get_df(ds)

        assert df["name"].tolist() == names

    def test_literal_colon_in_sql_is_text(self, backend, city):
        ds = backend.data_source(f"SELECT '10:30' AS at, name FROM {city} WHERE pop = 0")

        df = backend.connector.get_df(ds)

        assert_frame_equal(df, frame({"at": ["10:30"], "name": ["50% off"]}))

    # C06: list parameters ---------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("names", "expected"),
        [
            (["Paris", "Lyon"], ["Lyon", "Paris"]),
            ([], []),
            (["L'Haÿ"], ["L'Haÿ"]),
            (["x') OR 1=1 --"], []),
        ],
        ids=["two-names", "empty-list", "quote-inside", "injection-attempt"],
    )
    def test_list_parameter(self, backend, names, expected):
        table = backend.create_table(
            "city", "name varchar(50), pop int", [*CITY_ROWS, ("L'Haÿ", 4)]
        )
        ds = backend.data_source(
            f"SELECT name FROM {table} WHERE name IN {{{{ names }}}} ORDER BY name",
            parameters={"names": names},
        )

        df = backend.connector.get_df(ds)

        assert df["name"].tolist() == expected

    # C03: duplicate names ---------------------------------------------------------------------

    def test_duplicate_output_names_become_unique(self, backend):
        table = backend.create_table("t", "a int, b real", [(1, 0.1), (2, 0.2), (3, 0.3)])
        ds = backend.data_source(f"SELECT a, b, a + 1 AS a FROM {table} ORDER BY b")

        df = backend.connector.get_df(ds)

        expected = frame({"a": [1, 2, 3], "b": [0.1, 0.2, 0.3], "a_1": [2, 3, 4]})
        assert_frame_equal(df, expected, check_exact=False, rtol=1e-6)

    def test_join_keeps_both_id_and_name_columns(self, backend):
        left = backend.create_table("l", "id int, name varchar(10)", [(1, "a"), (2, "b")])
        right = backend.create_table("r", "id int, name varchar(10)", [(1, "x"), (3, "y")])
        ds = backend.data_source(f"SELECT * FROM {left} JOIN {right} ON {left}.id = {right}.id")

        df = backend.connector.get_df(ds)

        assert_frame_equal(df, frame({"id": [1], "name": ["a"], "id_1": [1], "name_1": ["x"]}))

    # C02: types without data ------------------------------------------------------------------

    def test_empty_result_has_the_dtypes_of_a_full_one(self, backend):
        columns = (
            "id integer, price double precision, amount numeric(10,2), label text, "
            "at timestamp NULL, ok boolean"
        )
        empty = backend.create_table("m", columns, [])
        full = backend.create_table(
            "m_full", columns, [(1, 1.5, "2.25", "x", "2024-01-01 10:00:00", True)]
        )

        empty_df = backend.connector.get_df(backend.data_source(f"SELECT * FROM {empty}"))
        full_df = backend.connector.get_df(backend.data_source(f"SELECT * FROM {full}"))

        assert (len(empty_df), empty_df.dtypes.to_dict()) == (0, full_df.dtypes.to_dict())

    # Read-only --------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "statement",
        [
            "DROP TABLE {table}",
            "INSERT INTO {table} VALUES ('Nice', 9)",
            "UPDATE {table} SET pop = 0",
            "DELETE FROM {table}",
            "CREATE TABLE {table}_copy (a int)",
        ],
        ids=["drop", "insert", "update", "delete", "create"],
    )
    def test_writes_are_refused_and_change_nothing(self, backend, city, statement):
        if not backend.supports_read_only:
            pytest.skip("this backend has no read-only transactions")
        ds = backend.data_source(statement.format(table=city))

        with pytest.raises(InvalidDataSourceError, match="is not a read query"):
            backend.connector.get_df(ds)
        after = backend.connector.get_df(backend.data_source(f"SELECT pop FROM {city}"))
        assert sorted(after["pop"].tolist()) == [0, 1, 2, 3, 4]

    # Slices -----------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("offset", "limit"),
        [(0, 10), (5, 4), (20, 10), (24, 1), (25, 5), (30, 5), (3, None), (0, 0)],
        ids=["first", "middle", "short-last", "one-last", "past-end", "far", "no-limit", "zero"],
    )
    def test_slice_equals_rows_of_get_df(self, backend, numbers, offset, limit):
        ds = backend.data_source(f"SELECT n, n * 2 AS twice FROM {numbers} ORDER BY n DESC")
        whole = backend.connector.get_df(ds)

        page = backend.connector.get_slice(ds, offset=offset, limit=limit).df

        end = None if limit is None else offset + limit
        assert_frame_equal(page, whole.iloc[offset:end].reset_index(drop=True))

    @pytest.mark.parametrize(
        "query",
        [
            "SELECT n FROM {t} ORDER BY n DESC LIMIT 10",
            "SELECT n FROM {t} ORDER BY n DESC LIMIT 10 OFFSET 3",
            "SELECT n FROM {t} WHERE n < 10 UNION SELECT n FROM {t} WHERE n > 20 ORDER BY n DESC",
            "SELECT n % 3 AS r, count(*) AS c FROM {t} GROUP BY n % 3 ORDER BY c DESC, r",
            "SELECT DISTINCT n % 4 AS r FROM {t} ORDER BY r DESC",
            "WITH s AS (SELECT n FROM {t} WHERE n > 5) SELECT n FROM s ORDER BY n DESC",
            "SELECT * FROM (SELECT n FROM {t} ORDER BY n DESC LIMIT 8) AS x ORDER BY n",
            "(SELECT n FROM {t} ORDER BY n DESC LIMIT 5)",
            "SELECT n AS a, n + 1 AS a FROM {t} ORDER BY n",
        ],
        ids=[
            "inner-limit", "limit-offset", "union", "group-by", "distinct", "cte", "derived",
            "parenthesised", "repeated-names",
        ],
    )  # fmt: skip
    def test_slice_of_any_select_follows_get_df(self, backend, numbers, query):
        if query.startswith("(") and not backend.supports_parenthesised_query:
            pytest.skip("this dialect has no parenthesised top-level SELECT")
        ds = backend.data_source(query.format(t=numbers))
        whole = backend.connector.get_df(ds)

        pages = [backend.connector.get_slice(ds, offset=o, limit=3).df for o in range(0, 30, 3)]

        assert_frame_equal(pd.concat(pages, ignore_index=True), whole)

    @pytest.mark.parametrize(
        ("offset", "limit", "total", "is_last"),
        [(0, 10, 25, False), (20, 5, 25, True), (15, 5, 25, False), (22, 10, 25, True)],
        ids=["first", "exactly-full-last", "middle", "short-last"],
    )
    def test_slice_counts_rows_when_asked(self, backend, numbers, offset, limit, total, is_last):
        ds = backend.data_source(f"SELECT n FROM {numbers} ORDER BY n")

        info = backend.connector.get_slice(
            ds, offset=offset, limit=limit, get_row_count=True
        ).pagination_info

        assert (info.total_rows, info.is_last_page) == (total, is_last)

    @pytest.mark.parametrize("end", [";", " ;  ; ", " -- the last line", ";\n/* done */"])
    @pytest.mark.parametrize("permission", [None, {"column": "n", "operator": "gt", "value": 2}])
    def test_counted_slice_of_a_query_with_a_trailing_end(self, backend, numbers, end, permission):
        ds = backend.data_source(f"SELECT n FROM {numbers} WHERE n <= 6 ORDER BY n{end}")

        page = backend.connector.get_slice(ds, permission, limit=2, get_row_count=True)

        first = 3 if permission else 1
        assert_frame_equal(page.df, frame({"n": [first, first + 1]}))
        assert page.pagination_info.total_rows == (4 if permission else 6)

    def test_slice_total_counts_groups_of_an_aggregation(self, backend, numbers):
        ds = backend.data_source(f"SELECT n % 3 AS r, count(*) AS c FROM {numbers} GROUP BY n % 3")

        info = backend.connector.get_slice(ds, limit=1, get_row_count=True).pagination_info

        assert info.total_rows == 3

    def test_slice_without_count_leaves_total_unknown(self, backend, numbers):
        ds = backend.data_source(f"SELECT n FROM {numbers} ORDER BY n")

        info = backend.connector.get_slice(ds, offset=0, limit=10).pagination_info

        assert (info.total_rows, info.is_last_page) == (None, False)

    # Permissions ------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("permission", "ids"),
        [
            ({"column": "country", "operator": "eq", "value": "FR"}, [1, 2, 5]),
            ({"column": "country", "operator": "ne", "value": "FR"}, [3, 4]),
            ({"column": "year", "operator": "lt", "value": "2021"}, [1, 4]),
            ({"column": "year", "operator": "le", "value": 2021}, [1, 2, 4]),
            ({"column": "year", "operator": "gt", "value": "2021"}, [3, 5]),
            ({"column": "year", "operator": "ge", "value": '"2022"'}, [3, 5]),
            ({"column": "country", "operator": "in", "value": ["BE", "DE"]}, [3, 4]),
            ({"column": "country", "operator": "in", "value": []}, []),
            ({"column": "name", "operator": "nin", "value": ["Ann", "Bob"]}, [3, 5]),
            ({"column": "name", "operator": "matches", "value": "^[AE]"}, [1, 5]),
            ({"column": "name", "operator": "notmatches", "value": "^[AE]"}, [2, 3]),
            ({"column": "score", "operator": "isnull"}, [2]),
            ({"column": "name", "operator": "notnull"}, [1, 2, 3, 5]),
            (
                {
                    "and": [
                        {"column": "country", "operator": "eq", "value": "{{ country }}"},
                        {"column": "year", "operator": "ge", "value": "{{ min_year }}"},
                    ]
                },
                [2, 5],
            ),
        ],
        ids=[
            "eq", "ne", "lt-string-number", "le", "gt", "ge-quoted-number", "in", "in-empty",
            "nin", "matches", "notmatches", "isnull", "notnull", "and-templated",
        ],
    )  # fmt: skip
    def test_permissions_are_applied_in_sql(self, backend, people, monkeypatch, permission, ids):
        monkeypatch.setattr(
            "toucan_connectors.sql.sql_connector.apply_permissions", _pandas_filter_forbidden
        )
        ds = backend.data_source(
            f"SELECT id, name, country, year, score FROM {people} ORDER BY id",
            parameters={"country": "FR", "min_year": "2020"},
        )

        df = backend.connector.get_df(ds, permissions=permission)

        assert df["id"].tolist() == ids

    def test_counted_slice_of_repeated_names(self, backend, numbers):
        ds = backend.data_source(
            f"SELECT n AS a, n * 10 AS a FROM {numbers} WHERE n <= 2 UNION ALL SELECT 3, 4"
        )

        page = backend.connector.get_slice(ds, offset=0, limit=1, get_row_count=True)

        assert page.pagination_info.total_rows == 3
        assert list(page.df.columns) == ["a", "a_1"]

    def test_permissions_on_a_join_with_repeated_names(self, backend, people):
        other = backend.create_table("other", "id int, country varchar(2)", [(7, "FR"), (8, "BE")])
        ds = backend.data_source(
            f"SELECT p.id, o.id, p.country FROM {people} p JOIN {other} o "
            "ON p.country = o.country ORDER BY p.id"
        )
        permission = {"column": "country", "operator": "eq", "value": "FR"}

        page = backend.connector.get_slice(ds, permission, offset=1, limit=5, get_row_count=True)

        expected = frame({"id": [2, 5], "id_1": [7, 7], "country": ["FR", "FR"]})
        assert_frame_equal(page.df, expected)
        assert page.pagination_info.total_rows == 3

    def test_a_number_compared_with_a_text_column_matches_as_text(self, backend, people):
        ds = backend.data_source(f"SELECT id, country FROM {people} ORDER BY id")
        permission = {"column": "country", "operator": "in", "value": [5, "BE"]}

        df = backend.connector.get_df(ds, permissions=permission)

        assert df["id"].tolist() == [3]

    def test_matches_on_a_number_column_matches_its_text(self, backend, people):
        ds = backend.data_source(f"SELECT id, year FROM {people} ORDER BY id")
        permission = {"column": "year", "operator": "matches", "value": "^202[02]"}

        df = backend.connector.get_df(ds, permissions=permission)

        assert df["id"].tolist() == [3, 4]

    def test_permissions_keep_the_query_order_in_pages(self, backend, people):
        ds = backend.data_source(f"SELECT id, year FROM {people} ORDER BY year DESC")
        permission = {"column": "year", "operator": "ge", "value": "2020"}

        page = backend.connector.get_slice(ds, permission, offset=1, limit=2, get_row_count=True)

        assert_frame_equal(page.df, frame({"id": [3, 2], "year": [2022, 2021]}))
        assert page.pagination_info.total_rows == 4

    @pytest.mark.parametrize(
        ("operator", "value", "ids"),
        [
            ("ge", "2015-01-01", [1, 2, 3]),
            ("ge", "2015-01-01T00:00:00", [1, 2, 3]),
            ("ge", "2015-01-01 00:00:00", [1, 2, 3]),
            ("ge", "2015-1-1", [1, 2, 3]),
            ("ge", "2015/01/01", [1, 2, 3]),
            ("eq", "2015-01-01T00:00:00", [1]),
            ("lt", "2015-01-02", [0, 1]),
            ("in", ["2015-01-01T00:00:00", "2015-1-3"], [1, 3]),
            ("nin", ["2015-01-01"], [0, 2, 3]),
        ],
    )
    def test_permissions_on_a_date_column_compare_dates(
        self, backend, monkeypatch, operator, value, ids
    ):
        table = backend.create_table(
            "days",
            "id int, day date",
            [(0, "2014-12-31"), (1, "2015-01-01"), (2, "2015-01-02"), (3, "2015-01-03")],
        )
        ds = backend.data_source(f"SELECT id, day FROM {table} ORDER BY id")
        permission = {"column": "day", "operator": operator, "value": value}
        in_frame = apply_permissions(backend.connector.get_df(ds), permission)
        monkeypatch.setattr(
            "toucan_connectors.sql.sql_connector.apply_permissions", _pandas_filter_forbidden
        )

        df = backend.connector.get_df(ds, permissions=permission)

        days = {0: "2014-12-31", 1: "2015-01-01", 2: "2015-01-02", 3: "2015-01-03"}
        expected = pd.DataFrame(
            {
                "id": pd.array(ids, dtype="Int64"),
                "day": pd.Series([days[i] for i in ids], dtype="datetime64[us]"),
            }
        )
        assert_frame_equal(df, expected)
        assert_frame_equal(in_frame.reset_index(drop=True), expected)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("notadate", "compares it with 'notadate', which is not a date: write an ISO 8601"),
            ("2015-01-01T00:00:00Z", "which has a time zone offset while the column's dates"),
        ],
    )
    def test_a_permission_value_that_is_no_plain_date_is_refused(self, backend, value, message):
        table = backend.create_table("days", "id int, day date", [(1, "2015-01-01")])
        ds = backend.data_source(f"SELECT id, day FROM {table}")
        permission = {"column": "day", "operator": "ge", "value": value}

        with pytest.raises(InvalidDataSourceError, match=re.escape(message)):
            backend.connector.get_df(ds, permissions=permission)

    @pytest.mark.parametrize(
        ("value", "ids"), [("true", [1]), ("FALSE", [2]), (True, [1]), (False, [2])]
    )
    def test_permissions_on_a_boolean_column_take_true_and_false(self, backend, value, ids):
        table = backend.create_table("flags", "id int, ok boolean", [(1, True), (2, False)])
        ds = backend.data_source(f"SELECT id, ok FROM {table} ORDER BY id")
        permission = {"column": "ok", "operator": "eq", "value": value}
        if backend.booleans_are_integers and isinstance(value, str):
            with pytest.raises(InvalidDataSourceError, match="which is not a number: fix"):
                backend.connector.get_df(ds, permissions=permission)
            return
        in_frame = apply_permissions(backend.connector.get_df(ds), permission)

        df = backend.connector.get_df(ds, permissions=permission)

        assert (df["id"].tolist(), in_frame["id"].tolist()) == (ids, ids)

    def test_pages_of_a_query_ordered_by_a_unique_key_are_get_df_rows(self, backend):
        rows = [(n, n % 3) for n in range(1, 31)]
        table = backend.create_table("ties", "id int, grp int", rows)
        ds = backend.data_source(f"SELECT id, grp FROM {table} ORDER BY grp, id")
        whole = backend.connector.get_df(ds)

        pages = [backend.connector.get_slice(ds, offset=o, limit=7).df for o in range(0, 30, 7)]

        assert_frame_equal(pd.concat(pages, ignore_index=True), whole)
        assert whole["id"].tolist()[:3] == [3, 6, 9]

    def test_permissions_order_by_the_output_name_an_alias_shadows(self, backend):
        table = backend.create_table("ao", "id int, g int", [(1, 9), (2, 8), (3, 7), (4, 6)])
        ds = backend.data_source(f"SELECT id AS g, g AS id FROM {table} ORDER BY g")
        permission = {"column": "g", "operator": "notnull"}

        whole = backend.connector.get_df(ds, permissions=permission)
        page = backend.connector.get_slice(ds, permission, offset=1, limit=2).df

        assert_frame_equal(whole, frame({"g": [1, 2, 3, 4], "id": [9, 8, 7, 6]}))
        assert_frame_equal(page, frame({"g": [2, 3], "id": [8, 7]}))

    def test_permissions_order_by_a_column_not_selected(self, backend, people):
        ds = backend.data_source(f"SELECT name FROM {people} ORDER BY year DESC")
        permission = {"column": "name", "operator": "notnull"}

        page = backend.connector.get_slice(ds, permission, offset=0, limit=3)

        assert_frame_equal(page.df, frame({"name": ["Eve", "Cy", "Bob"]}))

    # Engines ----------------------------------------------------------------------------------

    def test_a_copy_has_its_own_engines(self, backend):
        original = backend.connector
        before = original.get_engine(backend.database)
        copy = original.model_copy(update={"connect_timeout": original.connect_timeout + 1})

        copied_engine = copy.get_engine(backend.database)
        copy.close()

        assert copied_engine is not before
        assert original.get_engine(backend.database) is before
        assert_frame_equal(original.get_df(backend.data_source("SELECT 1 AS a")), frame({"a": [1]}))

    def test_a_changed_field_gets_a_new_engine(self, backend):
        connector = backend.connector.model_copy()
        before = connector.get_engine(backend.database)

        connector.connect_timeout += 1

        assert connector.get_engine(backend.database) is not before
        assert connector.get_engine(backend.database) is connector.get_engine(backend.database)
        connector.close()

    def test_deep_copies_and_pickles_start_without_engines(self, backend):
        import copy
        import pickle

        backend.connector.get_engine(backend.database)

        for other in (
            copy.deepcopy(backend.connector),
            pickle.loads(pickle.dumps(backend.connector)),
        ):
            assert other._pools.items == {}
            assert other == backend.connector

    # Describe and status ----------------------------------------------------------------------

    def test_describe_lists_columns_without_rows(self, backend, city):
        ds = backend.data_source(f"SELECT name, pop FROM {city}")

        described = backend.connector.describe(ds)

        assert list(described) == ["name", "pop"]

    def test_status_passes_every_step(self, backend):
        status = backend.connector.get_status()

        assert (status.status, [ok for _, ok in status.details]) == (
            True,
            [True] * len(status.details),
        )


def _pandas_filter_forbidden(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("permissions were applied in pandas, not in SQL")
