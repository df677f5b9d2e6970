"""The shape of the code a newcomer reads: no function in ``layers/`` or ``local/`` longer than
MAX_FUNCTION_LINES lines (McCabe complexity is checked by ``make complexity``, types by ``make typecheck``).

A function's length runs from its ``def`` line to its last line, docstring and comments included; a
nested function counts in its own right and as part of the function around it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from local.cfn import ROOT

MAX_FUNCTION_LINES = 40
CHECKED = ("layers", "local")


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function under ``node``, methods and nested ones too."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert child.end_lineno is not None
            yield prefix + child.name, child.lineno, child.end_lineno - child.lineno + 1
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")


def _lengths() -> dict[str, tuple[int, int]]:
    """``<path>::<qualified name>`` → (first line, length) of every function in the checked trees."""
    found: dict[str, tuple[int, int]] = {}
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for name, line, length in _functions(ast.parse(path.read_text(), filename=relative)):
                found[f"{relative}::{name}"] = (line, length)
    return found


def test_no_function_in_the_layer_or_the_local_stack_is_over_the_limit() -> None:
    offenders = [
        f"{key.split('::')[0]}:{line} {key.split('::')[1]} is {length} lines long (at most {MAX_FUNCTION_LINES}): split it into named helpers"
        for key, (line, length) in sorted(_lengths().items())
        if length > MAX_FUNCTION_LINES
    ]
    assert not offenders, "\n".join(offenders)


def test_the_length_check_sees_methods_and_nested_functions() -> None:
    source = "class A:\n    def method(self):\n        def inner():\n" + "            x = 1\n" * 45 + "        return inner\n"
    found = {name: length for name, _, length in _functions(ast.parse(source))}
    assert found == {"A.method": 48, "A.method.inner": 46}
