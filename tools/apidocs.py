"""The endpoint reference in Markdown (``docs/api-reference.md``), rendered from ``openapi.json``.

The OpenAPI document is generated from the code (``tools/openapi.py``); this page is generated from
the document, so the reference a client developer reads cannot drift from what the service does.

    python -m tools.apidocs [--check]

writes the page (``make openapi`` runs it after the document), or with ``--check`` fails when the
committed page differs from what the document gives (``make test`` runs the check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "openapi.json"
PAGE = ROOT / "docs" / "api-reference.md"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")
MAX_EXAMPLE_CHARS = 2500  # long seed examples are cut: the full ones are in openapi.json and /docs

HEADER = """# API reference

Generated from `openapi.json` by `python -m tools.apidocs` (`make openapi`); a test fails when this page is
stale, so edit the code or `tools/openapi.py`, never this page. Conventions that hold for every endpoint
(envelope, errors, auth, time, ids) are in [api.md](api.md). The same document is served by the running
service at `/openapi.json`, with Swagger UI at `/docs`.
"""


class Renderer:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def type_of(self, schema: dict[str, Any]) -> str:
        """A short, readable type: ``string (date-time)``, ``integer 1–100``, ``array of Viewer``, ``A | null``."""
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[-1]
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return " | ".join(dict.fromkeys(self.type_of(s) for s in schema[union]))
        if "enum" in schema:
            return " | ".join(f"`{v}`" for v in schema["enum"])
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " | ".join(kind)
        if kind == "array":
            return f"array of {self.type_of(schema.get('items', {}))}"
        text = str(kind)
        if "format" in schema:
            text += f" ({schema['format']})"
        bounds = _bounds(schema)
        return f"{text} {bounds}".strip()

    def fields(self, schema: dict[str, Any]) -> list[str]:
        schema = self.resolve(schema)
        props = schema.get("properties", {})
        if not props:
            return []
        required = set(schema.get("required", []))
        rows = ["| field | type | required | description |", "|---|---|---|---|"]
        for name, prop in props.items():
            description = prop.get("description") or (self.resolve(prop).get("description", "") if "$ref" in prop else "")
            rows.append(f"| `{name}` | {_cell(self.type_of(prop))} | {'yes' if name in required else 'no'} | {_cell(description)} |")
        return rows

    def operation(self, path: str, method: str, op: dict[str, Any]) -> list[str]:
        out = [f"### {method.upper()} `{path}`", "", f"**{op.get('summary', '')}**", ""]
        if op.get("description"):
            out += [op["description"].strip(), ""]
        out += [f"Auth: {self.auth(op)}", ""]
        params = op.get("parameters", [])
        if params:
            out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
            for p in params:
                schema = p.get("schema", {})
                description = p.get("description") or schema.get("description", "")
                out.append(
                    f"| `{p['name']}` | {p['in']} | {_cell(self.type_of(schema))} | {'yes' if p.get('required') else 'no'} | {_cell(description)} |"
                )
            out.append("")
        body = op.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            out += [f"Request body (`{media}`):", ""]
            out += self.fields(content.get("schema", {})) or ["(no fields)"]
            out.append("")
        out += self.responses(op)
        return out

    def auth(self, op: dict[str, Any]) -> str:
        security = op.get("security")
        if security is None:
            security = self.doc.get("security", [])
        names = [name for requirement in security for name in requirement] or []
        optional = {} in security
        if not names:
            return "none"
        text = " or ".join(f"`{n}`" for n in names)
        return f"{text} (optional: without it the caller is anonymous)" if optional else text

    def responses(self, op: dict[str, Any]) -> list[str]:
        out = ["| status | meaning |", "|---|---|"]
        success: list[tuple[str, dict[str, Any]]] = []
        for status, response in op.get("responses", {}).items():
            out.append(f"| {status} | {_cell(response.get('description', ''))} |")
            if status.startswith("2"):
                success.append((status, response))
        out.append("")
        for status, response in success:
            content = response.get("content", {}).get("application/json", {})
            schema = self.resolve(content.get("schema", {})) if content else {}
            data = schema.get("properties", {}).get("data")
            if data:
                out += [f"`data` of a {status}: {self.type_of(data)}", ""]
            example = content.get("example")
            if example is not None:
                text = json.dumps(example, indent=2, ensure_ascii=False)
                if len(text) > MAX_EXAMPLE_CHARS:
                    text = text[:MAX_EXAMPLE_CHARS].rsplit("\n", 1)[0] + "\n  …"
                out += [f"Example ({status}):", "", "```json", text, "```", ""]
        return out

    def models(self) -> list[str]:
        out = ["## Models", ""]
        for name in sorted(self.schemas):
            rows = self.fields(self.schemas[name])
            if not rows or name.startswith(("Envelope_", "Body_")):
                continue
            description = self.schemas[name].get("description", "")
            out += [f"### {name}", ""] + ([description.strip(), ""] if description else []) + rows + [""]
        return out

    def render(self) -> str:
        info = self.doc.get("info", {})
        out = [HEADER, f"Document: {info.get('title', '')} {info.get('version', '')}, OpenAPI {self.doc.get('openapi', '')}.", ""]
        if info.get("description"):
            out += [info["description"].strip(), ""]
        by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for path, ops in sorted(self.doc.get("paths", {}).items()):
            for method in METHOD_ORDER:
                if method in ops:
                    tag = (ops[method].get("tags") or ["Other"])[0]
                    by_tag.setdefault(tag, []).append((path, method, ops[method]))
        out += ["## Endpoints", ""]
        for tag, operations in by_tag.items():
            out += [f"- {tag}: " + ", ".join(f"`{m.upper()} {p}`" for p, m, _ in operations)]
        out.append("")
        for tag, operations in by_tag.items():
            out += [f"## {tag}", ""]
            for path, method, op in operations:
                out += self.operation(path, method, op)
        out += self.models()
        return "\n".join(out).rstrip() + "\n"


def _bounds(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in schema and not isinstance(schema[key], bool):
            value = schema[key]
            parts.append(f"{label} {int(value) if float(value).is_integer() else value}")
    if "minLength" in schema or "maxLength" in schema:
        parts.append(f"length {schema.get('minLength', 0)}–{schema.get('maxLength', '∞')}")
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(document_path: Path = DOCUMENT) -> str:
    return Renderer(json.loads(document_path.read_text())).render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
