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
    long = [f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 650]
    assert long == []
