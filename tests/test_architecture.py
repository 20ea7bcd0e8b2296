"""The architecture, checked from the source: layers import only downwards, no cycles, error contracts written.

The layers of ``ckks`` (``docs/architecture.md``), lowest first::

    0  ckks.errors, ckks.validation, ckks.container, ckks.precision, ckks.progress
    1  ckks.ring.*
    2  ckks.security.*
    3  ckks.scheme.*
    4  ckks.circuits.*
    5  ckks.vector, ckks.matrix
    6  ckks.context
    7  ckks.attacks, ckks.demo, ckks.interop, ckks (the package itself)

A module may import modules of its own rank or lower.  ``nn`` sits above all
of ``ckks``; nothing in ``ckks`` imports ``nn``, and the plaintext part of
``nn`` (everything outside ``nn.encrypted``) imports ``ckks`` only inside
functions, so that ``import nn`` runs no CKKS code.  Imports under
``if TYPE_CHECKING:`` are type hints, not dependencies, and are ignored.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RANKS = [
    (("ckks.errors", "ckks.validation", "ckks.container", "ckks.precision", "ckks.progress"), 0),
    (("ckks.ring",), 1),
    (("ckks.security",), 2),
    (("ckks.scheme",), 3),
    (("ckks.circuits",), 4),
    (("ckks.vector", "ckks.matrix"), 5),
    (("ckks.context",), 6),
    (("ckks.attacks", "ckks.demo", "ckks.interop", "ckks"), 7),
    (("nn",), 8),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int:
    best, best_len = None, -1
    for prefixes, value in RANKS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = value, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to RANKS and to docs/architecture.md"
    return best


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every ckks/nn import in a file, TYPE_CHECKING blocks skipped."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    found.append((candidate if _exists(candidate) else base, child.lineno, top))
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, top and not nested)

    visit(tree, True)
    return [(m, line, top) for m, line, top in found if m.split(".")[0] in ("ckks", "nn")]


def _exists(module: str) -> bool:
    base = ROOT / Path(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def source_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


ALL_FILES = source_files("ckks") + source_files("nn")


def test_every_module_is_in_a_layer():
    for path in source_files("ckks"):
        rank(module_name(path))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path):
    me = module_name(path)
    mine = rank(me)
    for target, line, _ in imports_of(path):
        if me.startswith("nn") and target.startswith("nn"):
            continue
        assert rank(target) <= mine, (
            f"{path.relative_to(ROOT)}:{line} imports {target} (layer {rank(target)}) from layer {mine}: "
            "move the shared code down, or the importing code up"
        )


def test_plaintext_nn_imports_ckks_only_inside_functions():
    for path in source_files("nn"):
        if "encrypted" in path.relative_to(ROOT).parts:
            continue
        for target, line, top in imports_of(path):
            assert not (top and target.startswith("ckks")), (
                f"{path.relative_to(ROOT)}:{line} imports {target} at module level: `import nn` must run no "
                "CKKS code; import it inside the function that needs it, or move the code to nn.encrypted"
            )


def test_there_is_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for path in ALL_FILES:
        me = module_name(path)
        graph[me] = {t for t, _, _ in imports_of(path) if t != me and t != me.rpartition(".")[0]}
    # Package __init__ files re-export their children: an edge package -> child is not a cycle by itself,
    # but child -> package -> child is, so keep them.
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1 and not _is_package_reexport(stack, nxt):
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)


def _is_package_reexport(stack: list[str], target: str) -> bool:
    """A cycle that passes only through a package's own ``__init__`` (``ckks`` -> ``ckks.x`` -> ``ckks``)."""
    cycle = stack[stack.index(target) :]
    return all(node == target or node.startswith(target + ".") for node in cycle) and target in ("ckks", "nn")


# -- error contracts ---------------------------------------------------------------------------------


def _own_raises(func: ast.AST) -> bool:
    """Whether a function's own body (not nested functions or classes) has a ``raise`` with an exception."""
    todo = list(ast.iter_child_nodes(func))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def _public_functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node, None
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if not item.name.startswith("_") or item.name in ("__init__", "__post_init__"):
                        yield f"{node.name}.{item.name}", item, node


def missing_raises_sections(package: str = "ckks") -> list[str]:
    return raising_functions(package)[1]


def raising_functions(package: str) -> tuple[int, list[str]]:
    """(number of public functions of ``package`` that raise, those of them without a ``Raises:`` section)."""
    missing, total = [], 0
    for path in source_files(package):
        tree = ast.parse(path.read_text(), filename=str(path))
        for name, func, cls in _public_functions(tree):
            if not _own_raises(func):
                continue
            total += 1
            docs = [ast.get_docstring(func) or ""]
            if cls is not None and func.name in ("__init__", "__post_init__"):
                docs.append(ast.get_docstring(cls) or "")
            if not any("Raises:" in doc for doc in docs):
                missing.append(f"{path.relative_to(ROOT)}:{func.lineno} {name}")
    return total, missing


def test_every_public_function_that_raises_documents_it():
    missing = missing_raises_sections()
    assert not missing, (
        f"{len(missing)} public functions raise without a 'Raises:' section in their docstring "
        "(name each error class and its condition, Google style):\n" + "\n".join(missing)
    )


def test_nn_functions_that_raise_document_it():
    """nn too (issue 25): at least 95% of its raising public functions have a ``Raises:`` section."""
    total, missing = raising_functions("nn")
    assert total > 50
    assert len(missing) <= 0.05 * total, (
        f"{len(missing)} of {total} public nn functions raise without a 'Raises:' section (at most 5% may):\n"
        + "\n".join(missing)
    )
