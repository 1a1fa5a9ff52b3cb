from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "sample.sqlite"


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    config = tmp_path / "big.yaml"
    config.write_text(
        "connectors:\n"
        f"  - {{name: sample, type: SQLite, path: '{SAMPLE}'}}\n"
        "data_sources:\n"
        "  - domain: big\n"
        "    name: sample\n"
        "    query: SELECT a.* FROM airports a CROSS JOIN (SELECT 1 FROM cars LIMIT 20) b\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "toucan_connectors.cli", "query", str(config), "big"]

    with subprocess.Popen(
        [*command, "-f", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        header = process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read()
        code = process.wait(timeout=60)

    assert (header, errors, code) == (
        b"iata,name,city,state,country,latitude,longitude\n",
        b"",
        0,
    )
