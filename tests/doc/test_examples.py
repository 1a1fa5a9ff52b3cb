"""Every page's example config loads through the command line and validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_support import ROOT, load_generator

from toucan_connectors.cli.config import load_config
from toucan_connectors.sqlite import SQLiteConnector

generate = load_generator()
PAGES = sorted(
    path for path in (ROOT / "doc" / "connectors").glob("*.md") if ".notes" not in path.name
)
EXAMPLE = re.compile(r"#+ Example config\n\n```yaml\n(.*?)```", re.DOTALL)


def page_examples(page: Path) -> list[str]:
    return EXAMPLE.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_example_config_loads_through_the_cli(page: Path, tmp_path: Path) -> None:
    examples = page_examples(page)
    built = []
    for number, text in enumerate(examples):
        path = tmp_path / f"example{number}.yaml"
        path.write_text(text, encoding="utf-8")
        environ = {name: "example" for name in re.findall(r"\$\{(\w+)", text)}
        config = load_config(path, environ=environ)
        connector = config.connector(config.connectors[0]["name"])
        _, data_source = config.data_source(config.data_sources[0]["domain"])
        built.append((connector.name, data_source.domain))

    assert built == [(f"my_{page.stem}", f"my_{page.stem}_data")] * len(examples) != []


def test_sqlite_example_runs_on_the_sample_database(tmp_path: Path) -> None:
    text = page_examples(ROOT / "doc" / "connectors" / "sqlite.md")[0]
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample.sqlite").symlink_to(ROOT / "examples" / "data" / "sample.sqlite")

    connector, data_source = load_config(path, environ={}).data_source("my_sqlite_data")
    df = connector.get_df(data_source)

    assert (isinstance(connector, SQLiteConnector), len(df), df["precipitation"].min()) == (
        True,
        len(df),
        20.3,
    )


def test_an_invalid_example_is_refused_with_where_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "sqlite.example.yaml").write_text(
        "SQLite:\n  data_source:\n    query: null\n", encoding="utf-8"
    )
    monkeypatch.setattr(generate, "PAGES_DIR", tmp_path)

    with pytest.raises(
        generate.InvalidExampleError,
        match=re.escape(
            "The example config of SQLite is invalid: "
            'Data source "my_sqlite_data" has neither of "query" and "table": set exactly one of '
            'them ("query" for SQL, "table" for a whole table). Give the fields valid values with '
            "`examples=` in the model or in doc/connectors/sqlite.example.yaml."
        ),
    ):
        generate.render_module("sqlite")


def test_a_malformed_example_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "sqlite.example.yaml").write_text("SQLite:\n  path: x\n", encoding="utf-8")
    monkeypatch.setattr(generate, "PAGES_DIR", tmp_path)

    with pytest.raises(
        generate.InvalidExampleError,
        match="must map each type key to `connector` and `data_source` mappings of field values",
    ):
        generate.render_module("sqlite")
