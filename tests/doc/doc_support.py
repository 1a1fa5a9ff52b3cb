"""Load doc/generate.py, which is a script rather than part of the package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    if "doc_generate" in sys.modules:
        return sys.modules["doc_generate"]
    spec = importlib.util.spec_from_file_location("doc_generate", ROOT / "doc" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_generate"] = module
    spec.loader.exec_module(module)
    return module
