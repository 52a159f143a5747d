"""Imports point one way: the GIMP side and the installer never pull in the engine's heavy packages."""
import ast
import os
import sys

import pytest

from tests.conftest import ROOT

STDLIB = set(sys.stdlib_module_names)


def imported_modules(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def python_files(folder):
    for base, _, files in os.walk(os.path.join(ROOT, folder)):
        yield from (os.path.join(base, f) for f in files if f.endswith(".py"))


PLUGIN_SIBLINGS = {"gimp_io", "settings", "worker_client"}


@pytest.mark.parametrize("path", sorted(python_files("gimp_plugin")) + sorted(python_files("installer")))
def test_gimp_side_and_installer_use_only_the_standard_library_gi_and_the_protocol(path):
    allowed = {"gi", "core", "core.protocol", "gimp_plugin", "installer"} | PLUGIN_SIBLINGS
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top in STDLIB or module in allowed or module.startswith(("gi.", "gimp_plugin.", "installer.")), \
            f"{os.path.relpath(path, ROOT)} imports {module}"
        assert not module.startswith("core.") or module == "core.protocol", \
            f"{os.path.relpath(path, ROOT)} imports {module}; the plug-in may use only core.protocol"


@pytest.mark.parametrize("name", ["protocol.py", "params.py", "__init__.py"])
def test_shared_engine_modules_are_standard_library_only(name):
    for module in imported_modules(os.path.join(ROOT, "core", name)):
        assert module.split(".")[0] in STDLIB or module in ("core", "core.protocol"), f"core/{name} imports {module}"


def test_only_the_plug_in_uses_gi():
    for folder in ("core", "installer"):
        for path in python_files(folder):
            assert not any(m.split(".")[0] == "gi" for m in imported_modules(path)), path
