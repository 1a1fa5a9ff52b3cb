"""`make new_connector type=MyType`, run in a copy of the repository."""

from __future__ import annotations

import re
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
# The README's example first; the next ones once a developer has scaffolded it for real.
CANDIDATE_NAMES = ("MyType", "MyTypeTwo", "MyTypeThree", "MyTypeFour")
# Wide enough to catch a broken registry, doc index or CLI listing, short enough to run in ~20 s.
SUITE_AFTER = ("tests/core", "tests/doc", "tests/cli")


def run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=copy, capture_output=True, text=True, check=False
    )


def copy_tree(destination: Path) -> None:
    """Copy the files git tracks or would track (not ignored ones, not build leftovers)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        shutil.copytree(ROOT, destination, ignore=IGNORED)
        return
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def free_name(copy: Path) -> str:
    """Return the first candidate name no registry key, subpackage or extra of `copy` uses."""
    taken = (copy / "toucan_connectors" / "registry.py").read_text(encoding="utf-8").lower()
    taken += (copy / "setup.py").read_text(encoding="utf-8").lower()
    for name in CANDIDATE_NAMES:
        module = name.lower()
        if f'"{module}"' not in taken and not (copy / "toucan_connectors" / module).exists():
            return name
    raise AssertionError(f"every one of {CANDIDATE_NAMES} is already a connector")


class Scaffolded:
    """A copy of the repository with one connector scaffolded into it."""

    def __init__(self, copy: Path, name: str, stdout: str) -> None:
        self.copy, self.name, self.module, self.stdout = copy, name, name.lower(), stdout

    def new_files(self) -> list[str]:
        module = self.module
        return [
            f"toucan_connectors/{module}/__init__.py",
            f"toucan_connectors/{module}/{module}_connector.py",
            f"tests/{module}/test_{module}_connector.py",
            f"doc/connectors/{module}.md",
        ]


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Scaffolded:
    copy = tmp_path_factory.mktemp("repo") / "toucan-connectors"
    copy_tree(copy)
    name = free_name(copy)
    result = run(copy, "scripts/new_connector.py", name)
    assert result.returncode == 0, result.stderr
    return Scaffolded(copy, name, result.stdout)


def test_free_name_skips_a_connector_already_scaffolded(tmp_path: Path) -> None:
    (tmp_path / "toucan_connectors" / "mytype").mkdir(parents=True)
    entry = '"MyType": RegistryEntry("mytype.mytype_connector.MyTypeConnector", "MyType", "mytype")'
    (tmp_path / "toucan_connectors" / "registry.py").write_text(entry, encoding="utf-8")
    (tmp_path / "setup.py").write_text('"mytype": [],\n"mytypetwo": [],\n', encoding="utf-8")

    assert free_name(tmp_path) == "MyTypeThree"


def test_creates_the_connector_test_and_doc_files(scaffolded: Scaffolded) -> None:
    missing = [path for path in scaffolded.new_files() if not (scaffolded.copy / path).is_file()]

    assert missing == []


def test_registers_the_type(scaffolded: Scaffolded) -> None:
    name, module = scaffolded.name, scaffolded.module

    registry = (scaffolded.copy / "toucan_connectors" / "registry.py").read_text(encoding="utf-8")
    line = (
        f'    "{name}": RegistryEntry("{module}.{module}_connector.{name}Connector", "{name}", '
        f'"{module}"),'
    )
    assert line in registry.splitlines()


def test_adds_an_empty_extra(scaffolded: Scaffolded) -> None:
    setup = (scaffolded.copy / "setup.py").read_text(encoding="utf-8")

    assert f'    "{scaffolded.module}": [],' in setup.splitlines()


def test_new_files_pass_the_linter(scaffolded: Scaffolded) -> None:
    targets = [path for path in scaffolded.new_files() if path.endswith(".py")]

    check = run(scaffolded.copy, "-m", "ruff", "check", *targets)
    form = run(scaffolded.copy, "-m", "ruff", "format", "--check", *targets)

    assert (check.returncode, form.returncode) == (0, 0), check.stdout + form.stdout


def test_suite_passes_right_after(scaffolded: Scaffolded) -> None:
    new_tests = f"tests/{scaffolded.module}"

    result = run(
        scaffolded.copy, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
        *SUITE_AFTER, new_tests,
    )  # fmt: skip

    summary = result.stdout.splitlines()[-1]
    passed_new = re.findall(rf"^PASSED {new_tests}/\S+", result.stdout, re.MULTILINE)
    page_test = f"PASSED tests/doc/test_pages.py::test_page_is_up_to_date[{scaffolded.module}]"
    assert (result.returncode, len(passed_new), page_test in result.stdout) == (0, 2, True), (
        result.stdout[-3000:]
    )
    # pytest decorates the line with "=" on some terminals only (CI prints it bare).
    assert re.fullmatch(r"(=+ )?\d+ passed(, \d+ skipped)? in .*", summary), summary


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "Mongodb",
            'Error: "Mongodb" already exists (type key "MongoDB" in toucan_connectors/registry.py):'
            " choose another name.",
            id="existing-key-in-another-case",
        ),
        pytest.param(
            "Fast",
            'Error: "Fast" already exists (tests/fast/, extra "fast" in setup.py): choose another '
            "name.",
            id="existing-extra",
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
def test_refuses_a_bad_name(scaffolded: Scaffolded, name: str, message: str) -> None:
    copy = scaffolded.copy
    before = snapshot(copy)

    result = run(copy, "scripts/new_connector.py", name)

    assert (result.returncode, result.stderr, snapshot(copy) == before) == (
        2,
        message + "\n",
        True,
    )


def test_refuses_the_name_just_scaffolded(scaffolded: Scaffolded) -> None:
    copy, name, module = scaffolded.copy, scaffolded.name, scaffolded.module
    before = snapshot(copy)

    result = run(copy, "scripts/new_connector.py", name)

    assert (result.returncode, result.stderr, snapshot(copy) == before) == (
        2,
        f'Error: "{name}" already exists (type key "{name}" in toucan_connectors/registry.py, '
        f'toucan_connectors/{module}/, tests/{module}/, extra "{module}" in setup.py): choose '
        "another name.\n",
        True,
    )


def snapshot(copy: Path) -> dict[str, bytes]:
    folders = ["toucan_connectors", "tests", "doc"]
    files = [path for folder in folders for path in (copy / folder).rglob("*") if path.is_file()]
    paths = [*files, copy / "setup.py"]
    return {str(path.relative_to(copy)): path.read_bytes() for path in paths}


def test_a_failed_step_leaves_nothing_behind(tmp_path: Path) -> None:
    copy = tmp_path / "toucan-connectors"
    copy_tree(copy)
    (copy / "doc" / "generate.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    before = snapshot(copy)

    result = run(copy, "scripts/new_connector.py", "Other")

    assert (result.returncode, snapshot(copy) == before) == (1, True)
    assert result.stderr.endswith("returned non-zero exit status 3.; nothing was left behind.\n")


@pytest.mark.parametrize("name", ["Foo Bar", "Foo;touch pwned"], ids=["space", "shell"])
def test_make_passes_the_name_unparsed_to_the_script(scaffolded: Scaffolded, name: str) -> None:
    copy = scaffolded.copy

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
