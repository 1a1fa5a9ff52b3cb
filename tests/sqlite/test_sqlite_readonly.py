"""Every statement that would write or have a side effect is refused, and the file stays as it was.

Each case runs on a fresh copy of the bundled sample database, alone in its folder: after the
refusal the file's bytes (sha256) are the same and no file (journal, WAL, attached or vacuumed
copy) has appeared beside it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from toucan_connectors.errors import InvalidDataSourceError, ToucanConnectorError
from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "sample.sqlite"
NOT_A_READ = "is not a read query: write a single SELECT (or WITH ... SELECT) with no INTO clause"
READ_ONLY = "read-only transactions, so write a SELECT"
TWO_STATEMENTS = "holds 2 SQL statements: write a single SELECT"
FOLDER_MARK = "@FOLDER@"  # replaced by the test's own folder


def case(sql: str, message: str, case_id: str) -> object:
    return pytest.param(sql, message, id=case_id)


def write_cases(folder: str) -> list[object]:
    """The statements to refuse; `folder` is where a side file would appear."""
    return [
        case(
            "INSERT INTO cars (id, name, cylinders, displacement, weight_in_lbs, acceleration, "
            "year, origin) VALUES (999, 'x', 1, 1, 1, 1, '1970-01-01', 'x')",
            NOT_A_READ,
            "insert",
        ),
        case("UPDATE cars SET name = 'x'", NOT_A_READ, "update"),
        case("DELETE FROM cars", NOT_A_READ, "delete"),
        case("-- a comment first\nDELETE FROM cars", NOT_A_READ, "delete-after-comment"),
        case("DROP TABLE cars", NOT_A_READ, "drop"),
        case("REPLACE INTO cars (id) VALUES (1)", NOT_A_READ, "replace"),
        case("WITH t AS (SELECT 1) INSERT INTO cars (id) SELECT 1", NOT_A_READ, "with-insert"),
        case("WITH t AS (SELECT 1) UPDATE cars SET name = 'x'", READ_ONLY, "with-update"),
        case("WITH t AS (SELECT 1) DELETE FROM cars", READ_ONLY, "with-delete"),
        case(f"ATTACH DATABASE '{folder}/other.sqlite' AS other", NOT_A_READ, "attach"),
        case("DETACH main", NOT_A_READ, "detach"),
        case("PRAGMA user_version = 5", NOT_A_READ, "pragma-user-version"),
        case("PRAGMA journal_mode = WAL", NOT_A_READ, "pragma-journal-mode-wal"),
        case("PRAGMA query_only = OFF", NOT_A_READ, "pragma-query-only-off"),
        case("VACUUM", NOT_A_READ, "vacuum"),
        case(f"VACUUM INTO '{folder}/copy.sqlite'", NOT_A_READ, "vacuum-into"),
        case(
            f"SELECT load_extension('{folder}/extension')",
            "the connector cannot load extensions",
            "load-extension",
        ),
        case("CREATE TABLE t (a)", NOT_A_READ, "create-table"),
        case("CREATE TEMP TABLE t (a)", NOT_A_READ, "create-temp-table"),
        case("CREATE TEMP VIEW v AS SELECT 1", NOT_A_READ, "create-temp-view"),
        case("BEGIN", NOT_A_READ, "begin"),
        case("COMMIT", NOT_A_READ, "commit"),
        case("SAVEPOINT a", NOT_A_READ, "savepoint"),
        case("SELECT * INTO copy FROM cars", NOT_A_READ, "select-into"),
        case("SELECT 1; DELETE FROM cars", TWO_STATEMENTS, "second-statement-delete"),
        case("SELECT 1; PRAGMA user_version = 5", TWO_STATEMENTS, "second-statement-pragma"),
    ]


def fingerprint(folder: Path, database: Path) -> tuple[list[str], str]:
    """The names in the folder and the sha256 of the database file."""
    names = sorted(path.name for path in folder.iterdir())
    return names, hashlib.sha256(database.read_bytes()).hexdigest()


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "only"
    folder.mkdir()
    database = folder / "sample.sqlite"
    shutil.copyfile(SAMPLE, database)
    return database


def test_the_copy_uses_a_rollback_journal(sample_copy: Path) -> None:
    conn = sqlite3.connect(f"file:{sample_copy}?mode=ro", uri=True)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()

    assert mode == "delete"


@pytest.mark.parametrize(("sql", "message"), write_cases(FOLDER_MARK))
def test_statement_is_refused_and_the_file_is_unchanged(
    sample_copy: Path, sql: str, message: str
) -> None:
    folder = sample_copy.parent
    before = fingerprint(folder, sample_copy)
    connector = SQLiteConnector(name="sample", path=str(sample_copy))
    data_source = SQLiteDataSource(
        domain="writer", name="sample", query=sql.replace(FOLDER_MARK, str(folder))
    )

    with pytest.raises(ToucanConnectorError, match=re.escape(message)):
        connector.get_df(data_source)

    assert fingerprint(folder, sample_copy) == before


def test_load_extension_is_refused_as_an_input_error(sample_copy: Path) -> None:
    connector = SQLiteConnector(name="sample", path=str(sample_copy))
    data_source = SQLiteDataSource(
        domain="writer", name="sample", query="SELECT load_extension('nowhere')"
    )

    with pytest.raises(InvalidDataSourceError) as raised:
        connector.get_df(data_source)

    assert str(raised.value).endswith(
        'Data source "writer" was refused by SQLite (not authorized): the connector cannot load '
        "extensions (load_extension); write the query without them."
    )


def test_reads_leave_the_file_unchanged(sample_copy: Path) -> None:
    folder = sample_copy.parent
    before = fingerprint(folder, sample_copy)
    connector = SQLiteConnector(name="sample", path=str(sample_copy))
    cars = SQLiteDataSource(domain="cars", name="sample", table="cars")

    frames = (
        len(connector.get_df(cars)),
        len(connector.get_slice(cars, offset=5, limit=2, get_row_count=True).df),
        len(connector.describe(cars)),
        len(connector.get_model()),
        connector.get_status().status,
    )

    assert (frames, fingerprint(folder, sample_copy)) == ((406, 2, 10, 4, True), before)


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    connector = SQLiteConnector(name="missing", path=str(tmp_path / "missing.sqlite"))
    data_source = SQLiteDataSource(domain="d", name="missing", query="SELECT 1")

    with pytest.raises(ToucanConnectorError):
        connector.get_df(data_source)

    assert list(tmp_path.iterdir()) == []
