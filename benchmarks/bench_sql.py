"""Benchmark SQL reads: our get_df against pandas.read_sql, connectorx, ADBC and the COPY floor.

Run with `make bench` or `python benchmarks/bench_sql.py [--rows N] [--repeat N] [--quick]`.
Every measurement runs in a fresh subprocess of this script (`--worker ...`), so import caches,
connection pools and the memory high-water mark of one method never leak into another.
Results are printed as a Markdown table; benchmarks/README.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 2
CHUNK_ROWS = 100_000
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root:@127.0.0.1:3306/test")
SQLITE_FOLDER = Path(os.environ.get("BENCH_SQLITE_DIR", tempfile.gettempdir()))
SMALL_QUERIES = 800
THREADS = 8

LINEITEM_COLUMNS = [
    ("l_orderkey", "BIGINT NOT NULL"),
    ("l_partkey", "INTEGER NOT NULL"),
    ("l_suppkey", "INTEGER NOT NULL"),
    ("l_linenumber", "INTEGER NOT NULL"),
    ("l_quantity", "NUMERIC(15,2) NOT NULL"),
    ("l_extendedprice", "NUMERIC(15,2) NOT NULL"),
    ("l_discount", "NUMERIC(15,2) NOT NULL"),
    ("l_tax", "NUMERIC(15,2) NOT NULL"),
    ("l_returnflag", "CHAR(1) NOT NULL"),
    ("l_linestatus", "CHAR(1) NOT NULL"),
    ("l_shipdate", "DATE NOT NULL"),
    ("l_commitdate", "DATE NOT NULL"),
    ("l_receiptdate", "DATE NOT NULL"),
    ("l_shipinstruct", "CHAR(25) NOT NULL"),
    ("l_shipmode", "CHAR(10) NOT NULL"),
    ("l_comment", "VARCHAR(44) NOT NULL"),
]
SHIP_INSTRUCTIONS = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
SHIP_MODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
WORDS = (
    "furiously quickly carefully blithely slyly final regular special pending express ironic "
    "even bold silent unusual packages requests accounts deposits foxes ideas theodolites "
    "pinto beans instructions dependencies excuses platelets asymptotes courts dolphins"
).split()


# --------------------------------------------------------------------------------------------
# Data: a deterministic lineitem generator, loaded once and remembered in a marker table.


def generate_chunks(rows: int) -> Iterator[Any]:
    """Yield the lineitem rows as DataFrames of at most CHUNK_ROWS rows, always the same ones."""
    import numpy as np
    import pandas as pd

    comment_rng = np.random.default_rng(0)
    comments = np.array(
        [
            " ".join(comment_rng.choice(WORDS, size=int(comment_rng.integers(2, 6))))[:44]
            for _ in range(10_000)
        ]
    )
    base_day = np.datetime64("1992-01-02")
    for start in range(0, rows, CHUNK_ROWS):
        size = min(CHUNK_ROWS, rows - start)
        rng = np.random.default_rng(start)
        index = np.arange(start, start + size)
        quantity = rng.integers(1, 51, size)
        ship = base_day + rng.integers(0, 2526, size).astype("timedelta64[D]")
        yield pd.DataFrame(
            {
                "l_orderkey": index // 4 + 1,
                "l_partkey": rng.integers(1, 200_000, size),
                "l_suppkey": rng.integers(1, 10_000, size),
                "l_linenumber": index % 4 + 1,
                "l_quantity": quantity.astype(float),
                "l_extendedprice": quantity * rng.integers(90_000, 200_000, size) / 100,
                "l_discount": rng.integers(0, 11, size) / 100,
                "l_tax": rng.integers(0, 9, size) / 100,
                "l_returnflag": rng.choice(["R", "A", "N"], size),
                "l_linestatus": rng.choice(["O", "F"], size),
                "l_shipdate": ship,
                "l_commitdate": ship + rng.integers(-30, 60, size).astype("timedelta64[D]"),
                "l_receiptdate": ship + rng.integers(1, 31, size).astype("timedelta64[D]"),
                "l_shipinstruct": rng.choice(SHIP_INSTRUCTIONS, size),
                "l_shipmode": rng.choice(SHIP_MODES, size),
                "l_comment": comments[rng.integers(0, len(comments), size)],
            }
        )


def write_csv(rows: int, path: Path) -> None:
    """Write the generated rows to a headerless CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        for chunk in generate_chunks(rows):
            chunk.to_csv(handle, index=False, header=False, float_format="%.2f")


def table_name(rows: int) -> str:
    """Name of the benchmark table holding `rows` rows."""
    return f"bench_lineitem_{rows}"


def _create_sql(name: str) -> str:
    columns = ", ".join(f"{column} {kind}" for column, kind in LINEITEM_COLUMNS)
    # TPC-H's key: the small-query benchmark looks rows up by it, as an application would.
    return f"CREATE TABLE {name} ({columns}, PRIMARY KEY (l_orderkey, l_linenumber))"


def ensure_pg_table(rows: int, csv_for: Callable[[int], Path]) -> None:
    """Create and fill the PostgreSQL table unless the marker says it is already there."""
    import psycopg2

    name = table_name(rows)
    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_marker "
            "(table_name text PRIMARY KEY, row_count bigint, version int)"
        )
        cur.execute("SELECT row_count, version FROM bench_marker WHERE table_name = %s", (name,))
        if cur.fetchone() == (rows, GENERATOR_VERSION):
            return
        log(f"loading {rows:,} rows into PostgreSQL {name}")
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(_create_sql(name))
        with csv_for(rows).open(encoding="utf-8") as handle:
            cur.copy_expert(f"COPY {name} FROM STDIN (FORMAT csv)", handle)
        cur.execute(f"ANALYZE {name}")
        cur.execute(
            "INSERT INTO bench_marker VALUES (%s, %s, %s) ON CONFLICT (table_name) "
            "DO UPDATE SET row_count = EXCLUDED.row_count, version = EXCLUDED.version",
            (name, rows, GENERATOR_VERSION),
        )


def ensure_mysql_table(rows: int, csv_for: Callable[[int], Path]) -> None:
    """Create and fill the MariaDB table unless the marker says it is already there."""
    conn = _mysql_connect(local_infile=True)
    name = table_name(rows)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS bench_marker "
                "(table_name varchar(64) PRIMARY KEY, row_count bigint, version int)"
            )
            cur.execute(
                "SELECT row_count, version FROM bench_marker WHERE table_name = %s", (name,)
            )
            if cur.fetchone() == (rows, GENERATOR_VERSION):
                return
            log(f"loading {rows:,} rows into MariaDB {name}")
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(_create_sql(name))
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {name} "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n'",
                (str(csv_for(rows)),),
            )
            cur.execute(
                "REPLACE INTO bench_marker VALUES (%s, %s, %s)", (name, rows, GENERATOR_VERSION)
            )
        conn.commit()
    finally:
        conn.close()


def _mysql_connect(**kwargs: Any) -> Any:
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(MYSQL_URL)
    return pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=url.database,
        **kwargs,
    )


def ensure_tables(sizes: list[int], dialects: list[str]) -> None:
    """Create every benchmark table that is missing, sharing one CSV file per size."""
    with tempfile.TemporaryDirectory() as folder:
        files: dict[int, Path] = {}

        def csv_for(rows: int) -> Path:
            if rows not in files:
                files[rows] = Path(folder) / f"lineitem_{rows}.csv"
                write_csv(rows, files[rows])
            return files[rows]

        for rows in sizes:
            if "postgres" in dialects:
                ensure_pg_table(rows, csv_for)
            if "mysql" in dialects:
                ensure_mysql_table(rows, csv_for)
            if "sqlite" in dialects:
                ensure_sqlite_table(rows)


def sqlite_path(rows: int) -> Path:
    """The SQLite file of the benchmark table of `rows` rows."""
    return SQLITE_FOLDER / f"toucan_bench_{GENERATOR_VERSION}_{rows}.sqlite"


def ensure_sqlite_table(rows: int) -> None:
    """Write the table into its own SQLite file once (the file's presence is the marker)."""
    import sqlite3

    path = sqlite_path(rows)
    if path.exists():
        return
    log(f"creating {path} ({rows:,} rows)")
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as conn:
        conn.execute(_create_sql(table_name(rows)))
        marks = ", ".join("?" * len(LINEITEM_COLUMNS))
        for chunk in generate_chunks(rows):
            for column in ("l_shipdate", "l_commitdate", "l_receiptdate"):
                chunk[column] = chunk[column].dt.strftime("%Y-%m-%d")
            conn.executemany(
                f"INSERT INTO {table_name(rows)} VALUES ({marks})",
                chunk.itertuples(index=False, name=None),
            )
    conn.close()
    partial.rename(path)


# --------------------------------------------------------------------------------------------
# Workers: each runs in a fresh interpreter and prints one JSON line.


class Skipped(Exception):
    """A method that cannot run here (driver or connector missing)."""


def rss_bytes(field: str) -> int:
    """Return a memory figure of this process from /proc (VmRSS or VmHWM), in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process's resident memory."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


def our_connector(dialect: str, fast: bool, rows: int = 0) -> tuple[Any, Callable[[str], Any]]:
    """Build our connector for `dialect` and a function making a data source from a query."""
    from sqlalchemy.engine import make_url

    if dialect == "sqlite":
        from toucan_connectors.sqlite import SQLiteConnector, SQLiteDataSource

        lite = SQLiteConnector(name="bench", path=str(sqlite_path(rows)), fast_path=fast)

        def lite_source(query: str, parameters: dict[str, Any] | None = None) -> Any:
            return SQLiteDataSource(
                name="bench", domain="bench", query=query, parameters=parameters
            )

        return lite, lite_source
    try:
        if dialect == "postgres":
            from toucan_connectors.postgres import PostgresConnector as Connector
            from toucan_connectors.postgres import PostgresDataSource as DataSource
        else:
            from toucan_connectors.mysql import MySQLConnector as Connector
            from toucan_connectors.mysql import MySQLDataSource as DataSource
    except ImportError as exc:
        raise Skipped(f"connector not available ({exc})") from exc
    if "fast_path" not in Connector.model_fields:
        raise Skipped("the connector has no fast_path field yet")

    url = make_url(PG_URL if dialect == "postgres" else MYSQL_URL)
    fields: dict[str, Any] = {
        "name": "bench",
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "fast_path": fast,
    }
    if url.password:
        fields["password"] = url.password
    connector = Connector(**fields)

    def data_source(query: str, parameters: dict[str, Any] | None = None) -> Any:
        return DataSource(
            name="bench", domain="bench", database=url.database, query=query, parameters=parameters
        )

    return connector, data_source


def read_full(method: str, dialect: str, rows: int) -> Callable[[str], Any]:
    """Prepare `method`, then return a function that reads a query whole and returns a frame."""
    url = PG_URL if dialect == "postgres" else MYSQL_URL
    if method == "classic":
        import pandas as pd
        import sqlalchemy as sa

        if dialect == "sqlite":
            engine = sa.create_engine(f"sqlite:///{sqlite_path(rows)}")
        else:
            driver = "postgresql+psycopg2" if dialect == "postgres" else "mysql+pymysql"
            engine = sa.create_engine(url.replace(url.split("://")[0], driver, 1))
        return lambda sql: pd.read_sql(sql, engine)
    if method == "connectorx":
        if dialect == "sqlite":
            raise Skipped("not measured on SQLite")
        import connectorx as cx
        import pandas as pd  # noqa: F401  (imported before the measured section)

        return lambda sql: cx.read_sql(url, sql)
    if method == "adbc":
        if dialect == "mysql":
            raise Skipped("no ADBC driver for MariaDB here")
        import pandas as pd  # noqa: F401

        if dialect == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            def read_sqlite(sql: str) -> Any:
                with adbc_sqlite.connect(str(sqlite_path(rows))) as conn, conn.cursor() as cur:
                    cur.execute(sql)
                    return cur.fetch_arrow_table().to_pandas()

            return read_sqlite
        import adbc_driver_postgresql.dbapi as adbc

        def read(sql: str) -> Any:
            with adbc.connect(url) as conn, conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetch_arrow_table().to_pandas()

        return read
    if method == "copy_floor":
        if dialect != "postgres":
            raise Skipped("binary COPY is PostgreSQL only")
        import psycopg2

        class Sink:
            size = 0

            def write(self, data: bytes) -> int:
                Sink.size += len(data)
                return len(data)

        def copy(sql: str) -> None:
            with psycopg2.connect(url) as conn, conn.cursor() as cur:
                cur.copy_expert(f"COPY ({sql}) TO STDOUT (FORMAT binary)", Sink())

        return copy
    if method in ("ours_fast", "ours_standard"):
        connector, data_source = our_connector(dialect, method == "ours_fast", rows)
        return lambda sql: connector.get_df(data_source(sql))
    raise ValueError(f"unknown method {method}")


def worker_full(method: str, dialect: str, rows: int) -> dict[str, Any]:
    """Time one whole read and measure the memory it took above the idle process.

    A 10-row read of the same table runs first in this process, so every method has loaded
    its modules (for ours: SQLAlchemy, sqlglot, the Arrow reader) and driver before the
    measured read.
    """
    read = read_full(method, dialect, rows)
    read(f"SELECT * FROM {table_name(rows)} LIMIT 10")
    reset_peak_rss()
    before = rss_bytes("VmRSS")
    started = time.perf_counter()
    df = read(f"SELECT * FROM {table_name(rows)}")
    seconds = time.perf_counter() - started
    peak = rss_bytes("VmHWM") - before
    if df is None:
        return {"seconds": seconds, "peak_bytes": peak}
    frame = int(df.memory_usage(deep=True).sum())
    return {"seconds": seconds, "peak_bytes": peak, "frame_bytes": frame, "rows": len(df)}


def worker_slice(method: str, dialect: str, rows: int) -> dict[str, Any]:
    """Time get_slice(limit=100), with or without the row count, after one warm-up call."""
    connector, data_source = our_connector(dialect, True, rows)
    source = data_source(f"SELECT * FROM {table_name(rows)}")
    count = method == "slice_count"
    connector.get_slice(source, limit=100, get_row_count=count)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        connector.get_slice(source, limit=100, get_row_count=count)
        timings.append(time.perf_counter() - started)
    return {"seconds": statistics.median(timings)}


def worker_small(method: str, dialect: str, rows: int) -> dict[str, Any]:
    """Run SMALL_QUERIES one-row queries from THREADS threads; return queries per second."""
    keys = [(i * 7919) % (rows // 4) + 1 for i in range(SMALL_QUERIES)]
    name = table_name(rows)
    query = f"SELECT l_orderkey, l_quantity FROM {name} WHERE l_orderkey = {{{{ key }}}}"
    if method == "small_pooled":
        connector, data_source = our_connector(dialect, True, rows)

        def run(key: int) -> None:
            connector.get_df(data_source(query, {"key": key}))

    else:
        # The same connector without reuse: a new one per query opens (and closes) its own
        # connection, so the two figures differ only by the pool.
        def run(key: int) -> None:
            fresh, fresh_source = our_connector(dialect, True, rows)
            try:
                fresh.get_df(fresh_source(query, {"key": key}))
            finally:
                fresh.close()

    run(keys[0])
    shares = [keys[i::THREADS] for i in range(THREADS)]
    errors: list[BaseException] = []

    def loop(share: list[int]) -> None:
        try:
            for key in share:
                run(key)
        except BaseException as exc:  # noqa: BLE001  (reported by the parent)
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return {"seconds": seconds, "throughput": SMALL_QUERIES / seconds}


def worker_import(method: str, dialect: str, rows: int) -> dict[str, Any]:
    """Time `import toucan_connectors` plus the connector module, in this fresh interpreter."""
    started = time.perf_counter()
    import toucan_connectors  # noqa: F401

    core = time.perf_counter() - started
    try:
        import toucan_connectors.postgres  # noqa: F401
    except ImportError:
        return {"seconds": core, "note": "postgres connector missing: core only"}
    return {"seconds": time.perf_counter() - started, "core_seconds": core}


WORKERS: dict[str, Callable[[str, str, int], dict[str, Any]]] = {
    "full": worker_full,
    "slice": worker_slice,
    "small": worker_small,
    "import": worker_import,
}


def run_worker(kind: str, method: str, dialect: str, rows: int) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON answer."""
    command = [sys.executable, __file__, "--worker", kind, method, dialect, str(rows)]
    root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def worker_main(kind: str, method: str, dialect: str, rows: int) -> None:
    """Entry point of a worker subprocess."""
    try:
        answer = WORKERS[kind](method, dialect, rows)
    except Skipped as exc:
        answer = {"skipped": str(exc)}
    print(json.dumps(answer))


# --------------------------------------------------------------------------------------------
# The parent: run each measurement N times and print tables.


@dataclass
class Measure:
    """Median figures of one method over its runs."""

    label: str
    seconds: float | None = None
    peak_bytes: float | None = None
    frame_bytes: float | None = None
    rows: int | None = None
    throughput: float | None = None
    note: str = ""


def measure(kind: str, method: str, dialect: str, rows: int, repeat: int) -> Measure:
    """Run a worker `repeat` times and keep the medians."""
    answers = [run_worker(kind, method, dialect, rows) for _ in range(repeat)]
    label = f"{method}"
    for answer in answers:
        if "skipped" in answer:
            return Measure(label, note="skipped: " + answer["skipped"])
        if "error" in answer:
            return Measure(label, note="error: " + answer["error"][:90])

    def median(key: str) -> float | None:
        values = [answer[key] for answer in answers if key in answer]
        return statistics.median(values) if values else None

    rows_read = answers[0].get("rows")
    return Measure(
        label,
        seconds=median("seconds"),
        peak_bytes=median("peak_bytes"),
        frame_bytes=median("frame_bytes"),
        rows=rows_read,
        throughput=median("throughput"),
        note=answers[0].get("note", ""),
    )


def ratio(value: float | None, reference: float | None) -> str:
    """Format value / reference as `1.23x`, or a dash when either is missing."""
    if value is None or not reference:
        return "-"
    return f"{value / reference:.2f}x"


def print_full_table(title: str, results: list[Measure]) -> None:
    """Print the whole-read table with its ratios."""
    by_label = {result.label: result for result in results}
    classic = by_label.get("classic", Measure("")).seconds
    cx = by_label.get("connectorx", Measure("")).seconds
    floor = by_label.get("copy_floor", Measure("")).seconds
    print(f"\n### {title}\n")
    print(
        "| method | median s | vs classic | vs connectorx | vs COPY floor "
        "| peak MiB | frame MiB | peak / frame | note |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in results:
        seconds = "-" if result.seconds is None else f"{result.seconds:.3f}"
        peak = "-" if result.peak_bytes is None else f"{result.peak_bytes / 2**20:.0f}"
        frame = "-" if result.frame_bytes is None else f"{result.frame_bytes / 2**20:.0f}"
        print(
            f"| {result.label} | {seconds} | {ratio(result.seconds, classic)} "
            f"| {ratio(result.seconds, cx)} | {ratio(result.seconds, floor)} | {peak} | {frame} "
            f"| {ratio(result.peak_bytes, result.frame_bytes)} | {result.note} |"
        )


def print_simple_table(title: str, header: str, results: list[tuple[str, Measure, str]]) -> None:
    """Print a two-column table of labelled figures."""
    print(f"\n### {title}\n")
    print(f"| case | {header} | note |")
    print("|---|---:|---|")
    for label, result, figure in results:
        print(f"| {label} | {figure} | {result.note} |")


def log(message: str) -> None:
    """Report progress on stderr, keeping stdout for the tables."""
    print(f"[bench_sql] {message}", file=sys.stderr, flush=True)


def available_dialects(wanted: list[str]) -> list[str]:
    """Keep the dialects whose server answers."""
    found = []
    for dialect in wanted:
        try:
            if dialect == "postgres":
                import psycopg2

                psycopg2.connect(PG_URL, connect_timeout=3).close()
            elif dialect == "mysql":
                _mysql_connect(connect_timeout=3).close()
            found.append(dialect)
        except Exception as exc:  # noqa: BLE001  (any failure means: skip this server)
            log(f"skipping {dialect}: {exc}")
    return found


def main() -> None:
    """Parse the command line, build the tables and print every measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--quick", action="store_true", help="small smoke run: 20,000 rows, 1 run")
    parser.add_argument(
        "--dialects",
        default="postgres,mysql,sqlite",
        help="comma-separated: postgres,mysql,sqlite",
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, method, dialect, rows = args.worker
        worker_main(kind, method, dialect, int(rows))
        return

    rows, repeat = (20_000, 1) if args.quick else (args.rows, args.repeat)
    small = max(rows // 10, 1)
    dialects = available_dialects(args.dialects.split(","))
    ensure_tables([rows, small], dialects)

    print(
        f"## bench_sql: {rows:,} rows, median of {repeat} run(s), Python {sys.version.split()[0]}"
    )
    methods = {
        "postgres": ["classic", "connectorx", "adbc", "copy_floor", "ours_fast", "ours_standard"],
        "mysql": ["classic", "connectorx", "ours_fast", "ours_standard"],
        "sqlite": ["classic", "adbc", "ours_fast", "ours_standard"],
    }
    for dialect in dialects:
        results = []
        for method in methods[dialect]:
            log(f"{dialect} full read: {method}")
            results.append(measure("full", method, dialect, rows, repeat))
        print_full_table(f"{dialect}: whole table of {rows:,} rows", results)

    for dialect in dialects:
        previews = []
        for size in (small, rows):
            for method in ("slice", "slice_count"):
                log(f"{dialect} preview: {method} on {size:,} rows")
                result = measure("slice", method, dialect, size, repeat)
                figure = "-" if result.seconds is None else f"{result.seconds * 1000:.1f}"
                with_count = "with count" if method == "slice_count" else "no count"
                previews.append((f"{size:,} rows, {with_count}", result, figure))
        print_simple_table(f"{dialect}: get_slice(limit=100)", "median ms", previews)

    for dialect in dialects:
        throughputs = []
        for method in ("small_pooled", "small_per_query"):
            log(f"{dialect} small queries: {method}")
            result = measure("small", method, dialect, small, repeat)
            figure = "-" if result.throughput is None else f"{result.throughput:.0f}"
            throughputs.append((method, result, figure))
        print_simple_table(
            f"{dialect}: {SMALL_QUERIES} one-row queries from {THREADS} threads",
            "queries/s",
            throughputs,
        )

    imported = measure("import", "import", "postgres", 0, max(repeat, 3))
    figure = "-" if imported.seconds is None else f"{imported.seconds * 1000:.0f}"
    print_simple_table(
        "import time", "ms", [("import toucan_connectors.postgres", imported, figure)]
    )


if __name__ == "__main__":
    main()
