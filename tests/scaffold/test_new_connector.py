"""`make new_connector type=MyType`, run in a copy of the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.egg-info", "build",
    ".results",
)  # fmt: skip
NEW_FILES = [
    "toucan_connectors/mytype/__init__.py",
    "toucan_connectors/mytype/mytype_connector.py",
    "tests/mytype/test_mytype_connector.py",
    "doc/connectors/mytype.md",
]


def run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=copy, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    copy = tmp_path_factory.mktemp("repo") / "toucan-connectors"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    result = run(copy, "scripts/new_connector.py", "MyType")
    assert result.returncode == 0, result.stderr
    return copy, result.stdout


def test_creates_the_connector_test_and_doc_files(scaffolded: tuple[Path, str]) -> None:
    copy, _ = scaffolded

    assert [path for path in NEW_FILES if not (copy / path).is_file()] == []


def test_registers_the_type(scaffolded: tuple[Path, str]) -> None:
    copy, _ = scaffolded

    registry = (copy / "toucan_connectors" / "registry.py").read_text(encoding="utf-8")
    line = (
        '    "MyType": RegistryEntry("mytype.mytype_connector.MyTypeConnector", "MyType", '
        '"mytype"),'
    )
    assert line in registry.splitlines()


def test_adds_an_empty_extra(scaffolded: tuple[Path, str]) -> None:
    copy, _ = scaffolded

    assert '    "mytype": [],' in (copy / "setup.py").read_text(encoding="utf-8").splitlines()


def test_new_files_pass_the_linter(scaffolded: tuple[Path, str]) -> None:
    copy, _ = scaffolded
    targets = [path for path in NEW_FILES if path.endswith(".py")]

    check = run(copy, "-m", "ruff", "check", *targets)
    form = run(copy, "-m", "ruff", "format", "--check", *targets)

    assert (check.returncode, form.returncode) == (0, 0), check.stdout + form.stdout


def test_suite_passes_right_after(scaffolded: tuple[Path, str]) -> None:
    copy, _ = scaffolded

    result = run(
        copy, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "tests/mytype", "tests/doc/test_pages.py", "-k", "mytype or index",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].startswith("8 passed")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "MyType",
            'Error: "MyType" already exists (type key "MyType" in toucan_connectors/registry.py, '
            'toucan_connectors/mytype/, tests/mytype/, extra "mytype" in setup.py): choose '
            "another name.",
            id="existing",
        ),
        pytest.param(
            "my_type",
            'Error: "my_type" is not a connector type name: use CamelCase letters and digits, '
            "e.g. MyType.",
            id="not-camel-case",
        ),
        pytest.param(
            "Class",
            'Error: "Class" cannot be a connector type name: its module name "class" is a '
            "Python keyword; choose another.",
            id="keyword",
        ),
        pytest.param(
            "TestThing",
            'Error: "TestThing" cannot be a connector type name: pytest would collect the class '
            '"TestThingConnector" as tests; choose another.',
            id="test-prefix",
        ),
        pytest.param(
            "Json",
            'Error: "Json" cannot be a connector type name: its module name "json" is a '
            "standard-library module; choose another.",
            id="stdlib",
        ),
        pytest.param(
            "Registry",
            'Error: "Registry" cannot be a connector type name: its module name "registry" is '
            "taken by toucan_connectors/registry.py; choose another.",
            id="core-module",
        ),
    ],
)
def test_refuses_a_bad_name(scaffolded: tuple[Path, str], name: str, message: str) -> None:
    copy, _ = scaffolded
    before = snapshot(copy)

    result = run(copy, "scripts/new_connector.py", name)

    assert (result.returncode, result.stderr, snapshot(copy) == before) == (
        2,
        message + "\n",
        True,
    )


def snapshot(copy: Path) -> dict[str, bytes]:
    folders = ["toucan_connectors", "tests", "doc"]
    files = [path for folder in folders for path in (copy / folder).rglob("*") if path.is_file()]
    paths = [*files, copy / "setup.py"]
    return {str(path.relative_to(copy)): path.read_bytes() for path in paths}


def test_a_failed_step_leaves_nothing_behind(tmp_path: Path) -> None:
    copy = tmp_path / "toucan-connectors"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    (copy / "doc" / "generate.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    before = snapshot(copy)

    result = run(copy, "scripts/new_connector.py", "Other")

    assert (result.returncode, snapshot(copy) == before) == (1, True)
    assert result.stderr.endswith("returned non-zero exit status 3.; nothing was left behind.\n")


@pytest.mark.parametrize("name", ["Foo Bar", "Foo;touch pwned"], ids=["space", "shell"])
def test_make_passes_the_name_unparsed_to_the_script(
    scaffolded: tuple[Path, str], name: str
) -> None:
    copy, _ = scaffolded

    result = subprocess.run(
        ["make", "-s", "new_connector", f"type={name}", f"PYTHON={sys.executable}"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.stderr.splitlines()[0], (copy / "pwned").exists()) == (
        f'Error: "{name}" is not a connector type name: use CamelCase letters and digits, '
        "e.g. MyType.",
        False,
    )
