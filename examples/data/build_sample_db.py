"""Build examples/data/sample.sqlite from the public datasets that `vega_datasets` ships offline.

Run it from anywhere with `python examples/data/build_sample_db.py`; it needs only the
`vega_datasets` package (no network) and rewrites the database from scratch, byte for byte the
same on every run.

Tables (vega_datasets ships each file; where the file comes from and what licence it carries
are stated as far as they are known):

* ``airports`` (3376 rows): the supplemental ``airports.csv`` of the 2009 ASA Data Expo (IATA
  code, name, city, state, country, coordinates). 3372 rows are in the USA and 4 elsewhere
  (Thailand, Palau, the Northern Mariana Islands, Micronesia). City and state are "NA" in the
  file, stored as NULL, for 12 airports: those 4, 4 air force bases and 4 other US airports.
  The Data Expo states no licence; vega_datasets' description calls the file public domain and
  attributes it to OurAirports, whose data it does not match.
* ``seattle_weather`` (1461 rows): daily Seattle weather 2012-2015, NOAA data that the
  vega-datasets project transformed; no licence is stated.
* ``cars`` (406 rows): StatLib's "cars" data (Donoho and Ramos, 1982); miles per gallon is NULL
  for 8 cars and horsepower for 6. No licence is stated by the source.

The ``monthly_weather`` view sums the weather by month (48 rows).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vega_datasets import local_data

TARGET = Path(__file__).with_name("sample.sqlite")

SCHEMA = """
CREATE TABLE airports (
    iata TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT,
    state TEXT,
    country TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL
);
CREATE TABLE seattle_weather (
    date DATE PRIMARY KEY,
    precipitation REAL NOT NULL,
    temp_max REAL NOT NULL,
    temp_min REAL NOT NULL,
    wind REAL NOT NULL,
    weather TEXT NOT NULL
);
CREATE TABLE cars (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    miles_per_gallon REAL,
    cylinders INTEGER NOT NULL,
    displacement REAL NOT NULL,
    horsepower REAL,
    weight_in_lbs INTEGER NOT NULL,
    acceleration REAL NOT NULL,
    year DATE NOT NULL,
    origin TEXT NOT NULL
);
CREATE VIEW monthly_weather AS
    SELECT substr(date, 1, 7) AS month,
           round(sum(precipitation), 1) AS precipitation,
           round(avg(temp_max), 1) AS avg_temp_max,
           count(*) AS days
    FROM seattle_weather
    GROUP BY month;
"""


def main() -> None:
    """Write the sample database next to this script."""
    TARGET.unlink(missing_ok=True)
    conn = sqlite3.connect(TARGET)
    try:
        conn.executescript(SCHEMA)
        _insert(conn, "airports", 7, _airports())
        _insert(conn, "seattle_weather", 6, _weather())
        _insert(conn, "cars", 10, _cars())
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def _insert(
    conn: sqlite3.Connection, table: str, width: int, rows: Iterator[Sequence[Any]]
) -> None:
    placeholders = ", ".join("?" * width)
    conn.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)  # noqa: S608


def _airports() -> Iterator[Sequence[Any]]:
    with open(local_data.airports.filepath, encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            yield (
                row["iata"],
                row["name"],
                _missing_as_null(row["city"]),
                _missing_as_null(row["state"]),
                row["country"],
                float(row["latitude"]),
                float(row["longitude"]),
            )


def _weather() -> Iterator[Sequence[Any]]:
    with open(local_data.seattle_weather.filepath, encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            yield (
                row["date"].replace("/", "-"),
                float(row["precipitation"]),
                float(row["temp_max"]),
                float(row["temp_min"]),
                float(row["wind"]),
                row["weather"],
            )


def _cars() -> Iterator[Sequence[Any]]:
    with open(local_data.cars.filepath, encoding="utf-8") as file:
        records = json.load(file)
    for position, car in enumerate(records, start=1):
        yield (
            position,
            car["Name"],
            car["Miles_per_Gallon"],
            car["Cylinders"],
            car["Displacement"],
            car["Horsepower"],
            car["Weight_in_lbs"],
            car["Acceleration"],
            car["Year"],
            car["Origin"],
        )


def _missing_as_null(value: str) -> str | None:
    return None if value == "NA" else value


if __name__ == "__main__":
    main()
