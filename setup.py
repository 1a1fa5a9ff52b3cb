"""Packaging for toucan-connectors: one extra per connector, plus `all`."""

from __future__ import annotations

from setuptools import find_packages, setup

SQLALCHEMY = "sqlalchemy>=2.0,<3"
SQLGLOT = "sqlglot>=30"

EXTRAS: dict[str, list[str]] = {
    "postgres": [SQLALCHEMY, SQLGLOT, "psycopg2-binary>=2.9"],
    "redshift": [SQLALCHEMY, SQLGLOT, "psycopg2-binary>=2.9", "boto3>=1.28"],
    "mysql": [SQLALCHEMY, SQLGLOT, "PyMySQL>=1.1"],
    "sqlite": [SQLALCHEMY, SQLGLOT],
    "mongo": ["pymongo>=4.6"],
    "http_api": ["jq>=1.6", "xmltodict>=0.13"],
    "cli": ["typer>=0.12", "rich>=13", "PyYAML>=6", "pyarrow>=15"],
    "fast": [
        "pyarrow>=15",
        "adbc-driver-postgresql>=1.0",
        "connectorx>=0.4.6",
        "adbc-driver-sqlite>=1.0",
    ],
    "polars": ["polars>=1.0"],
}
EXTRAS["all"] = sorted({requirement for group in EXTRAS.values() for requirement in group})

with open("README.md", encoding="utf-8") as readme:
    LONG_DESCRIPTION = readme.read()

setup(
    name="toucan-connectors",
    version="0.1.0",
    description="Data connectors that turn any source into a pandas DataFrame",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["toucan_connectors", "toucan_connectors.*"]),
    include_package_data=True,
    package_data={"toucan_connectors": ["py.typed"]},
    install_requires=[
        "pandas>=2.0",
        "pydantic>=2.5,<3",
        "jinja2>=3.1",
        "tenacity>=8.2",
        "requests>=2.31",
        "typing_extensions>=4.6",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["toucan-connectors=toucan_connectors.cli.entry:main"]},
    classifiers=[
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3",
    ],
)
