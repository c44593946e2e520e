"""Layers depend downward only (DESIGN.md): app -> captioning -> models. The core never imports app, not even
lazily inside a function, and the library's command line runs without it."""

from __future__ import annotations

import ast
import subprocess
import sys

from api_server import ROOT


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an import statement, ``__import__``/``importlib.import_module`` call or dotted string names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("app."):
            found.append((node.lineno, node.value))  # "app.cli" handed to __import__, import_module, entry points
    return found


def test_no_core_module_imports_app() -> None:
    offenders = []
    for path in sorted((ROOT / "captioning").rglob("*.py")):
        for line, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            if module == "app" or module.startswith("app."):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert offenders == []


def test_the_check_sees_a_lazy_import() -> None:
    tree = ast.parse("def f():\n    import app.cli\n    __import__('app.main')\n    from app import schemas\n")
    assert sorted(m for _, m in _imported_modules(tree)) == ["app", "app.cli", "app.main"]


def test_library_command_line_runs_without_app() -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['soundcue', '--help']\n"
        "try:\n    runpy.run_module('captioning', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = sorted(m for m in sys.modules if m == 'app' or m.startswith('app.'))\n"
        "assert not loaded, loaded\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "caption" in r.stdout and "check-captions" in r.stdout and "serve" not in r.stdout


def test_console_script_spans_library_and_service() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "soundcue"]
    assert script.value == "app.cli:main"
    r = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    for command in ("caption", "check-captions", "serve", "submit"):
        assert command in r.stdout, command
