"""The data-access boundary: only ``livestream.store`` knows the table.

Every module of the layer outside ``store/`` is parsed and must not call the DynamoDB client
(``store.client()``, ``boto3.client("dynamodb")``), build a request (``KeyConditionExpression``,
``TransactItems``, ``TableName``…, as keywords or as dictionary keys), write an expression
(``attribute_not_exists(…)``, ``pk = :pk``…) or a key (``"STREAM#…"``, ``"PROFILE"``…). A failure names
the module and line, so that the fix is to ask ``store`` in domain terms instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "livestream"


REQUEST_KEYS = {
    "TableName",
    "IndexName",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "UpdateExpression",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ExclusiveStartKey",
    "LastEvaluatedKey",
    "TransactItems",
    "RequestItems",
    "ReturnValues",
    "ConsistentRead",
    "ScanIndexForward",
}
KEY_PREFIX = re.compile(r"\b(STREAM|USER|PART|MEMBER|REMINDER|ACCESS|UID|CHANNEL|NOTICE|AUDIENCE|DUE|EXP|STATE|CREATOR|FOLLOWS)#")
KEY_CONSTANTS = {"META", "PROFILE", "VIEWERS", "SWEEP", "PRESENCE", "CHANNEL", "NOTICE"}
EXPRESSION = re.compile(r"\b(attribute_exists|attribute_not_exists|begins_with|if_not_exists|list_append|attribute_type)\(|[=<>]\s*:\w")


def modules() -> list[Path]:
    return sorted(p for p in LAYER.rglob("*.py") if "store" not in p.relative_to(LAYER).parts[:1])


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose may name keys and expressions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _is_dynamodb_client_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in ("client", "resource") and node.args and isinstance(node.args[0], ast.Constant):
        return node.args[0].value == "dynamodb"
    return name == "client" and not node.args and not node.keywords


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    where = path.relative_to(LAYER)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and _is_dynamodb_client_call(node):
            found.append(f"{where}:{line}: calls the DynamoDB client")
        if isinstance(node, ast.Call):
            found += [f"{where}:{line}: request keyword {k.arg}" for k in node.keywords if k.arg in REQUEST_KEYS]
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            found += [f"{where}:{line}: request key {k!r}" for k in keys if k in REQUEST_KEYS]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            if KEY_PREFIX.search(text) or text in KEY_CONSTANTS:
                found.append(f"{where}:{line}: key string {text!r}")
            if EXPRESSION.search(text):
                found.append(f"{where}:{line}: expression {text!r}")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("boto3.dynamodb"):
            found.append(f"{where}:{line}: imports {node.module}")
    return found


def test_only_store_knows_the_table():
    found = [v for path in modules() for v in violations(path)]
    assert not found, "data access outside livestream.store (ask store in domain terms):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("store.client().query(TableName='t')", "calls the DynamoDB client"),
        ("boto3.client('dynamodb')", "calls the DynamoDB client"),
        ("x = {'TransactItems': []}", "request key 'TransactItems'"),
        ("f(KeyConditionExpression='pk = :pk')", "request keyword KeyConditionExpression"),
        ("key = f'STREAM#{stream_id}'", "key string 'STREAM#'"),
        ("sk = 'PROFILE'", "key string 'PROFILE'"),
        ("c = 'attribute_not_exists(pk)'", "expression"),
    ],
)
def test_the_guard_names_each_kind_of_leak(tmp_path, source, expected):
    module = tmp_path / "leaky.py"
    module.write_text(source + "\n")
    global LAYER
    saved, LAYER = LAYER, tmp_path
    try:
        assert any(expected in v and v.startswith("leaky.py:1:") for v in violations(module))
    finally:
        LAYER = saved
