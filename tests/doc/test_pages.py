"""Registry, extras and doc pages stay in step.

Every registry entry imports (with all extras installed), has an extra in setup.py and a page;
every committed page is exactly what doc/generate.py writes, and has a Limitations section.
"""

from __future__ import annotations

import ast

import pytest
from doc_support import ROOT, load_generator

from toucan_connectors.registry import CONNECTORS_REGISTRY, get_connector_class

generate = load_generator()
MODULES = sorted(generate.modules())
TYPE_KEYS = sorted(CONNECTORS_REGISTRY)


def setup_extras() -> set[str]:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(target, ast.Name) and target.id == "EXTRAS" for target in targets):
                return {key.value for key in node.value.keys if isinstance(key, ast.Constant)}
    raise AssertionError("setup.py has no EXTRAS dict")


@pytest.mark.parametrize("type_key", TYPE_KEYS)
def test_entry_imports(type_key: str) -> None:
    connector = get_connector_class(type_key)

    assert connector.data_source_model is not None


@pytest.mark.parametrize("type_key", TYPE_KEYS)
def test_entry_has_an_extra(type_key: str) -> None:
    assert CONNECTORS_REGISTRY[type_key].extra in setup_extras()


@pytest.mark.parametrize("type_key", TYPE_KEYS)
def test_entry_has_a_page(type_key: str) -> None:
    module = generate.module_of(CONNECTORS_REGISTRY[type_key])

    assert (ROOT / "doc" / "connectors" / f"{module}.md").is_file()


@pytest.mark.parametrize("module", MODULES)
def test_page_is_up_to_date(module: str) -> None:
    committed = (ROOT / "doc" / "connectors" / f"{module}.md").read_text(encoding="utf-8")

    assert committed == generate.render_module(module), "run `make doc`"


@pytest.mark.parametrize("module", MODULES)
def test_page_has_a_limitations_section(module: str) -> None:
    page = (ROOT / "doc" / "connectors" / f"{module}.md").read_text(encoding="utf-8")

    assert "\n## Limitations\n" in page


def test_index_is_up_to_date() -> None:
    committed = (ROOT / "doc" / "connectors.md").read_text(encoding="utf-8")

    assert committed == generate.render_index(), "run `make doc`"
