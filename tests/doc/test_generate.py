"""The page generator, on a small connector defined here."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pytest
from doc_support import load_generator
from pydantic import Field, SecretStr

from toucan_connectors.registry import RegistryEntry
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource

generate = load_generator()


class WidgetDataSource(ToucanDataSource):
    """Reads one widget table."""

    query: str = Field(description="SQL to run.", examples=["SELECT * FROM widgets"])
    mode: Literal["fast", "safe"] = Field("safe", description="How to read | carefully.")


class WidgetConnector(ToucanConnector, data_source_model=WidgetDataSource):
    """Reads widgets from a widget server."""

    status_steps = ("Host resolved", "Port opened")
    limitations = ("No joins: the widget server has none; join in a view instead.",)

    host: str = Field(description="Server name.")
    port: int = Field(7000, description="Server port.")
    password: SecretStr = Field(description="Password of the user.")
    tags: list[str] | None = Field(None, description="Labels.")

    def _retrieve_data(self, data_source: WidgetDataSource) -> pd.DataFrame:
        return pd.DataFrame()


class GadgetConnector(ToucanConnector, data_source_model=WidgetDataSource):
    def _retrieve_data(self, data_source: WidgetDataSource) -> pd.DataFrame:
        return pd.DataFrame()


WIDGET = generate.Documented(
    "Widget", RegistryEntry("widget.widget_connector.WidgetConnector", "Widget", "widget"),
    WidgetConnector,
)  # fmt: skip
GADGET = generate.Documented(
    "Gadget", RegistryEntry("widget.gadget.GadgetConnector", "Gadget", "widget"), GadgetConnector
)

EXPECTED_WIDGET_PAGE = f"""\
# Widget

{generate.GENERATED.format(notes="doc/connectors/widget.notes.md")}

Reads widgets from a widget server.

- Type key: `Widget`
- Install: `pip install "toucan-connectors[widget]"`
- Classes: `{__name__}.WidgetConnector`, `{__name__}.WidgetDataSource`

## Connector fields

| Field | Type | Default | Required | Description |
| --- | --- | --- | --- | --- |
| `host` | `str` | — | yes | Server name. |
| `port` | `int` | `7000` | no | Server port. |
| `password` | `SecretStr` | — | yes | Password of the user. |
| `tags` | `list[str] \\| None` | `null` | no | Labels. |

Every connector also takes the common fields `name`, `type`, `retry_policy`, `cache_ttl`, \
`identifier`, `secrets_storage_version` ([core.md](../core.md#common-fields)).

## Data source fields

Reads one widget table.

| Field | Type | Default | Required | Description |
| --- | --- | --- | --- | --- |
| `query` | `str` | — | yes | SQL to run. |
| `mode` | `"fast" \\| "safe"` | `"safe"` | no | How to read \\| carefully. |

Every data source also takes the common fields `domain`, `name`, `type`, `load`, `live_data`, \
`validation`, `parameters`, `cache_ttl` ([core.md](../core.md#common-fields)).

## Example config

```yaml
connectors:
- name: my_widget
  type: Widget
  host: <host>
  password: ${{WIDGET_PASSWORD}}
data_sources:
- domain: my_widget_data
  name: my_widget
  query: SELECT * FROM widgets
```

## Status checks

1. Host resolved
2. Port opened

## Limitations

- No joins: the widget server has none; join in a view instead.
"""


def test_page_documents_fields_example_checks_and_limitations() -> None:
    assert generate.render_page("widget", [WIDGET]) == EXPECTED_WIDGET_PAGE


def test_notes_are_appended_verbatim() -> None:
    page = generate.render_page("widget", [WIDGET], notes="## Notes\n\nDates are UTC.\n")

    assert page.endswith("instead.\n\n## Notes\n\nDates are UTC.\n")


def test_empty_limitations_say_none_known() -> None:
    page = generate.render_page("widget", [GADGET])

    assert page.endswith("## Limitations\n\nNone known.\n")


def test_aliases_share_one_section() -> None:
    alias = generate.Documented(
        "OldWidget", RegistryEntry(WIDGET.entry.path, "Widget (legacy)", "widget"), WidgetConnector
    )

    page = generate.render_page("widget", [WIDGET, alias])

    assert page.splitlines()[6:8] == [
        "- Type key: `Widget`",
        "- Type key: `OldWidget` (Widget (legacy))",
    ]


def test_several_connectors_share_one_page() -> None:
    page = generate.render_page("widget", [WIDGET, GADGET])

    headings = [line for line in page.splitlines() if line.startswith("#")]
    assert headings == [
        "# Widget, Gadget",
        "## Widget",
        "### Connector fields",
        "### Data source fields",
        "### Example config",
        "### Status checks",
        "## Gadget",
        "### Connector fields",
        "### Data source fields",
        "### Example config",
        "### Status checks",
        "## Limitations",
    ]


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        pytest.param(str, "str", id="plain"),
        pytest.param(int | None, "int | None", id="optional"),
        pytest.param(dict[str, list[int]], "dict[str, list[int]]", id="nested"),
        pytest.param(Literal["a", 1], '"a" | 1', id="literal"),
    ],
)
def test_format_type(annotation: object, expected: str) -> None:
    assert generate.format_type(annotation) == expected
