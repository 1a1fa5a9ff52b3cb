"""Config files: `${VAR}` substitution and the models built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from toucan_connectors.cli.config import load_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("${HOST}", "db.local", id="set"),
        pytest.param("${PORT:-5432}", "5432", id="default"),
        pytest.param("${HOST:-x}", "db.local", id="default-unused"),
        pytest.param("$${HOST}", "${HOST}", id="escaped"),
        pytest.param("user@${HOST}:${PORT:-1}", "user@db.local:1", id="several"),
        pytest.param("{{ host }}", "{{ host }}", id="templates-untouched"),
        pytest.param("${EMPTY:-x}", "x", id="default-when-empty"),
        pytest.param("${EMPTY}", "", id="empty-without-default"),
        pytest.param("${PORT:-${HOST}/s}", "db.local/s", id="nested-default"),
        pytest.param("${PORT:-${NOPE:-a}-b}", "a-b", id="nested-default-default"),
        pytest.param("${HOST:-${NOPE}}", "db.local", id="nested-unused"),
        pytest.param("${PORT:-$${HOST}}", "${HOST}", id="escaped-in-default"),
        pytest.param("${PORT:-a", "${PORT:-a", id="unterminated"),
    ],
)
def test_variables_are_substituted(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"connectors:\n  - name: c\n    host: '{text}'\n", encoding="utf-8")

    config = load_config(path, environ={"HOST": "db.local", "EMPTY": ""})

    assert config.connector_fields("c") == {"name": "c", "host": expected}


def test_config_dir_is_the_folder_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"connectors": [{"name": "c", "path": "${CONFIG_DIR}/db.sqlite"}]}')

    config = load_config(path, environ={})

    assert config.connector_fields("c") == {"name": "c", "path": f"{tmp_path.resolve()}/db.sqlite"}


def test_missing_lists_are_empty(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("connectors:\n", encoding="utf-8")

    config = load_config(path, environ={})

    assert (config.connectors, config.data_sources) == ([], [])


@pytest.mark.usefixtures("tiny_registry")
def test_data_source_type_must_match_its_connector(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "connectors:\n  - {name: c, type: Tiny, host: h}\n"
        "data_sources:\n  - {domain: d, name: c, type: Plain}\n",
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match="make them match or drop it"):
        load_config(path, environ={}).data_source("d")


def test_unset_variable_elsewhere_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "connectors:\n  - {name: c, host: h}\n  - {name: other, host: '${NOT_SET}'}\n"
        "data_sources:\n  - {domain: d, name: c}\n  - {domain: e, name: c, x: '${NOT_SET}'}\n",
        encoding="utf-8",
    )

    config = load_config(path, environ={})

    assert (config.connector_fields("c"), config.data_source_fields("d")) == (
        {"name": "c", "host": "h"},
        {"domain": "d", "name": "c"},
    )


def test_values_in_data_source_fields_are_escaped_for_jinja(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "connectors:\n  - {name: c, host: '${LIT}'}\n"
        "data_sources:\n  - {domain: d, name: c, country: 'x${LIT}', "
        "parameters: {p: '${LIT}'}, plain: '${PLAIN}'}\n",
        encoding="utf-8",
    )

    config = load_config(path, environ={"LIT": "{{ 7*7 }}", "PLAIN": "a{b}"})

    assert (config.connector_fields("c"), config.data_source_fields("d")) == (
        {"name": "c", "host": "{{ 7*7 }}"},
        {
            "domain": "d",
            "name": "c",
            "country": "x{% raw %}{{ 7*7 }}{% endraw %}",
            "parameters": {"p": "{{ 7*7 }}"},
            "plain": "a{b}",
        },
    )
