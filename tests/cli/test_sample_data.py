"""The bundled sample database holds what README.md and its build script say it holds."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "data" / "sample.sqlite"
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sample() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{SAMPLE}?mode=ro", uri=True)
    yield conn
    conn.close()


def count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def test_row_counts(sample: sqlite3.Connection) -> None:
    counts = {
        name: count(sample, f"SELECT count(*) FROM {name}")  # noqa: S608 - fixed names
        for name in ("airports", "seattle_weather", "cars", "monthly_weather")
    }

    assert counts == {"airports": 3376, "seattle_weather": 1461, "cars": 406, "monthly_weather": 48}


def test_readme_table_gives_the_row_counts() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", README, re.MULTILINE))

    assert rows == {"airports": "3376", "seattle_weather": "1461", "cars": "406"}


def test_null_counts(sample: sqlite3.Connection) -> None:
    nulls = {
        "airports city and state": count(
            sample, "SELECT count(*) FROM airports WHERE city IS NULL AND state IS NULL"
        ),
        "airports city or state": count(
            sample, "SELECT count(*) FROM airports WHERE city IS NULL OR state IS NULL"
        ),
        "cars miles_per_gallon": count(
            sample, "SELECT count(*) FROM cars WHERE miles_per_gallon IS NULL"
        ),
        "cars horsepower": count(sample, "SELECT count(*) FROM cars WHERE horsepower IS NULL"),
    }

    assert nulls == {
        "airports city and state": 12,
        "airports city or state": 12,
        "cars miles_per_gallon": 8,
        "cars horsepower": 6,
    }


def test_airports_without_a_place(sample: sqlite3.Connection) -> None:
    rows = sample.execute(
        "SELECT iata, country FROM airports WHERE city IS NULL ORDER BY iata"
    ).fetchall()

    assert rows == [
        ("CLD", "USA"),
        ("HHH", "USA"),
        ("MIB", "USA"),
        ("MQT", "USA"),
        ("RCA", "USA"),
        ("RDR", "USA"),
        ("ROP", "Thailand"),
        ("ROR", "Palau"),
        ("SCE", "USA"),
        ("SKA", "USA"),
        ("SPN", "N Mariana Islands"),
        ("YAP", "Federated States of Micronesia"),
    ]


def test_airports_outside_the_usa(sample: sqlite3.Connection) -> None:
    rows = sample.execute(
        "SELECT country, count(*) FROM airports GROUP BY country ORDER BY country"
    ).fetchall()

    assert rows == [
        ("Federated States of Micronesia", 1),
        ("N Mariana Islands", 1),
        ("Palau", 1),
        ("Thailand", 1),
        ("USA", 3372),
    ]


def test_weather_covers_2012_to_2015(sample: sqlite3.Connection) -> None:
    span = sample.execute("SELECT min(date), max(date) FROM seattle_weather").fetchone()

    assert span == ("2012-01-01", "2015-12-31")
