"""Architecture rules that a change could silently break."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "inpaint_gui"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_qt_or_gui():
    offenders = []
    for path in (PACKAGE / "core").rglob("*.py"):
        for name in imported_modules(path):
            if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"} or name.startswith("inpaint_gui.gui"):
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_core_imports_without_pyside6_in_a_fresh_interpreter():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'PySide6': raise ImportError('PySide6 blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import inpaint_gui.core.pipeline, inpaint_gui.lab.train, inpaint_gui.core.image.io, inpaint_gui.cli\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_importing_the_package_loads_neither_torch_nor_qt():
    code = "import sys, inpaint_gui; assert 'torch' not in sys.modules and 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_no_module_is_too_long():
    long = [
        f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 650
    ]
    assert long == []


# -- the import graph -----------------------------------------------------------------------------
def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``path`` imports anywhere: at the top, inside functions and
    under ``if TYPE_CHECKING`` alike (``from a import b`` counts as ``a.b`` when that is a module)."""
    me = module_name(path)
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".") if is_package else me.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
        for t in targets:
            while t and t not in modules:  # ``import a.b.c`` of a name inside a module: the module
                t = t.rpartition(".")[0]
            if t and t != me:
                out.add(t)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_cycle_finder_sees_imports_inside_functions_and_type_checking(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    src = tmp_path / "inpaint_gui" / "gui"
    src.mkdir(parents=True)
    f = src / "x.py"
    f.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from inpaint_gui.gui.y import Y\n"
        "def f():\n    from inpaint_gui.gui import z\n    import inpaint_gui.gui.w.thing\n"
    )
    modules = {
        "inpaint_gui.gui.x": f,
        "inpaint_gui.gui.y": f,
        "inpaint_gui.gui.z": f,
        "inpaint_gui.gui.w": f,
        "inpaint_gui.gui": f,
    }
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "inpaint_gui"
    try:
        assert import_edges(f, modules) == {"inpaint_gui.gui.y", "inpaint_gui.gui.z", "inpaint_gui.gui.w"}
    finally:
        PACKAGE = saved


def test_no_import_cycles_in_the_package():
    modules = package_modules()
    graph = {name: import_edges(path, modules) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > 50  # the graph was really built
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_gui_uses_the_engines_only_through_the_pipeline():
    """``gui/`` may import ``inpaint_gui.core.engines`` (Engines) but nothing inside it."""
    modules = package_modules()
    offenders = []
    for name, path in modules.items():
        if not name.startswith("inpaint_gui.gui"):
            continue
        for target in import_edges(path, modules) | imported_modules(path):
            if target.startswith("inpaint_gui.core.engines."):
                offenders.append(f"{name}: {target}")
    assert offenders == []


def test_gui_modules_stay_small():
    long = [f"{p.name}: {n}" for p in (PACKAGE / "gui").glob("*.py") if (n := len(p.read_text().splitlines())) > 550]
    assert long == []


# -- engines own their knowledge ---------------------------------------------------------------------------
def engine_names() -> list[str]:
    from inpaint_gui.core.engines import names

    return names()


def outside_the_engines() -> list[Path]:
    """The modules that must know no engine: the pipeline, auto, the session, the GUI, the commands."""
    core = [PACKAGE / "core" / name for name in ("pipeline.py", "auto.py", "session.py")]
    return core + sorted((PACKAGE / "gui").glob("*.py")) + sorted((PACKAGE / "commands").glob("*.py"))


def test_no_engine_is_named_outside_the_engines():
    """No engine's name as a string literal, no engine package imported, no engine's plan field
    read (``plan.window``, ``plan.kind``) in the modules that must ask the engines instead."""
    assert {"face", "scene"} <= set(engine_names())
    offenders = []
    for path in outside_the_engines():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        front = path.parent.name == "commands" and path.name in LAB_FRONTS  # they name the network they train
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if literal and node.value in engine_names() and not front:
                offenders.append(f"{path.name}:{node.lineno}: the literal {node.value!r}")
            plan_field = isinstance(node, ast.Attribute) and getattr(node.value, "attr", "") == "plan"
            if plan_field and node.attr in ("window", "kind", "framings", "model"):
                offenders.append(f"{path.name}:{node.lineno}: plan.{node.attr}")
        for name in imported_modules(path):
            inside = name.startswith("inpaint_gui.core.engines.") and name != "inpaint_gui.core.engines.base"
            if inside and not (path.parent.name == "commands" and path.name in LAB_FRONTS):
                offenders.append(f"{path.name}: imports {name}")
    assert offenders == []


LAB_FRONTS = ("train.py", "train_ff.py")  # the trainers' fronts: the networks' own tools


def test_the_boundary_check_would_see_a_name():
    src = 'def f(r):\n    return r.engine == "face" or r.plan.window\n'
    tree = ast.parse(src)
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in engine_names()]
    fields = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "attr", "") == "plan"]
    assert literals == ["face"] and fields == ["window"]


def test_every_engine_is_registered_once_through_the_entry_points():
    from importlib.metadata import entry_points

    from inpaint_gui.core.engines import GROUP, registry

    declared = {ep.name: ep.value for ep in entry_points(group=GROUP) if ep.dist.name == "inpaint-gui"}
    assert set(declared) == {"face", "scene", "ce", "pggan"} <= set(registry())
    for name, cls in registry().items():
        assert cls.info.name == name and cls.info.settings is not None
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert '[project.entry-points."inpaint_gui.engines"]' in text
