"""Imports point one way: the GIMP side and the installer never pull in the engine's heavy packages."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

STDLIB = set(sys.stdlib_module_names)


def imported_modules(path):
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def python_files(folder):
    for base, _, files in os.walk(os.path.join(ROOT, folder)):
        yield from (os.path.join(base, f) for f in files if f.endswith(".py"))


PLUGIN_SIBLINGS = {  # the plug-in's own modules, imported by their plain names inside GIMP
    Path(name).stem for name in os.listdir(os.path.join(ROOT, "gimp_plugin", "neural_style")) if name.endswith(".py")
}


@pytest.mark.parametrize("path", sorted(python_files("gimp_plugin")) + sorted(python_files("installer")))
def test_gimp_side_and_installer_use_only_the_standard_library_gi_and_the_protocol(path):
    allowed = {"gi", "core", "core.protocol", "gimp_plugin", "installer"} | PLUGIN_SIBLINGS
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top in STDLIB or module in allowed or module.startswith(("gi.", "gimp_plugin.", "installer.")), (
            f"{os.path.relpath(path, ROOT)} imports {module}"
        )
        assert not module.startswith("core.") or module == "core.protocol", (
            f"{os.path.relpath(path, ROOT)} imports {module}; the plug-in may use only core.protocol"
        )


@pytest.mark.parametrize("name", ["protocol.py", "vgg_layers.py", "__init__.py"])
def test_shared_engine_modules_are_standard_library_only(name):
    for module in imported_modules(os.path.join(ROOT, "core", name)):
        assert module.split(".")[0] in STDLIB or module in ("core", "core.protocol"), f"core/{name} imports {module}"


def test_settings_are_checked_without_keras_or_scipy():
    """The command line and the worker check a job's settings before the heavy imports."""
    code = (
        "import sys; import core.params; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'scipy') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def module_graph():
    """{module: modules of the project it imports}, for core, installer and gimp_plugin (imports
    inside functions included: a cycle through one still ties the modules together)."""
    names = {}
    for folder in ("core", "installer", "gimp_plugin"):
        for path in python_files(folder):
            module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
            names[module] = path
    graph = {}
    for module, path in names.items():
        targets = set()
        for imported in imported_modules(path):
            for candidate in (imported, *(f"{imported}.{n.name}" for n in _imported_names(path, imported))):
                if candidate in names and candidate != module:
                    targets.add(candidate)
        graph[module] = targets
    return graph


def _imported_names(path, module):
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == module:
            yield from node.names


def test_no_module_imports_itself_round_a_cycle():
    graph = module_graph()
    assert {"core.engine", "core.vgg", "core.weights", "core.bench.common"} <= set(graph)  # it sees the tree
    cycles = []

    def visit(module, path):
        for target in sorted(graph[module]):
            if target in path:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in done:
                visit(target, path + [target])
        done.add(module)

    done = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert not cycles, f"import cycles: {cycles}"


def test_only_the_benchmark_imports_the_benchmark():
    for module, targets in module_graph().items():
        if not module.startswith("core.bench"):
            assert not any(t.startswith("core.bench") for t in targets), f"{module} imports the benchmark"


def test_only_the_plug_in_uses_gi():
    for folder in ("core", "installer"):
        for path in python_files(folder):
            assert not any(m.split(".")[0] == "gi" for m in imported_modules(path)), path
