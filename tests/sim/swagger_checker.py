"""A small Swagger 2.0 / OpenAPI schema checker over pyyaml (test helper).

check(value, "Node") returns a list of problems, each naming its JSON path:
wrong types, values outside an enum, missing `required` fields, broken $ref,
allOf parts, x-nullable, and (strict mode) keys the definition does not
declare. Enum extensions document values the real daemon sends that the
spec's enum lacks (e.g. moby's rollback_* update states); property extensions
fields it sends that the spec omits (e.g. Service.PreviousSpec).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

RFC3339_NANO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_UINT_FORMATS = {"uint8", "uint16", "uint32", "uint64"}


class SwaggerChecker:
    def __init__(self, spec: dict | str | Path, strict: bool = True,
                 enum_extensions: dict[str, set[str]] | None = None,
                 property_extensions: dict[str, dict[str, dict]] | None = None):
        if not isinstance(spec, dict):
            spec = yaml.safe_load(Path(spec).read_text())
        self.spec = spec
        self.definitions = spec.get("definitions") or (spec.get("components") or {}).get("schemas") or {}
        for definition, props in (property_extensions or {}).items():
            self.definitions[definition].setdefault("properties", {}).update(props)
        self.strict = strict
        self.enum_extensions = enum_extensions or {}

    def check(self, value, schema: dict | str, path: str = "$") -> list[str]:
        if isinstance(schema, str):
            if schema not in self.definitions:
                return [f"{path}: no definition {schema!r} in the spec"]
            schema = {"$ref": f"#/definitions/{schema}"}
        problems: list[str] = []
        self._check(value, schema, path, problems)
        return problems

    # -- internals ----------------------------------------------------------

    def _resolve(self, schema: dict, path: str, problems: list[str]) -> dict | None:
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith(("#/definitions/", "#/components/schemas/")) or name not in self.definitions:
                problems.append(f"{path}: unresolvable $ref {ref}")
                return None
            merged = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self.definitions[name], **merged}
            seen += 1
            if seen > 50:
                problems.append(f"{path}: $ref cycle at {ref}")
                return None
        return schema

    def _declared_keys(self, schema: dict, path: str, problems: list[str]) -> tuple[set[str], bool]:
        """Property names an object schema declares (allOf included), and whether extra keys are allowed."""
        schema = self._resolve(schema, path, []) or {}
        keys = set((schema.get("properties") or {}).keys())
        extra = schema.get("additionalProperties")
        open_ended = bool(extra) and extra is not False
        for part in schema.get("allOf") or []:
            part_keys, part_open = self._declared_keys(part, path, problems)
            keys |= part_keys
            open_ended = open_ended or part_open
        if not keys and "allOf" not in schema:
            open_ended = True  # a free-form object
        return keys, open_ended

    def _check(self, value, schema: dict, path: str, problems: list[str]) -> None:
        schema = self._resolve(schema, path, problems)
        if schema is None:
            return
        if value is None:
            if not schema.get("x-nullable") and schema.get("type") not in (None, "null"):
                problems.append(f"{path}: null where the spec wants {schema.get('type')}")
            return
        for part in schema.get("allOf") or []:
            self._check_part(value, part, path, problems)
        kind = schema.get("type")
        if kind is None and ("properties" in schema or "additionalProperties" in schema):
            kind = "object"
        if kind and not _type_ok(value, kind):
            problems.append(f"{path}: {type(value).__name__} {value!r:.60} is not of type {kind}")
            return
        if "enum" in schema:
            allowed = set(schema["enum"]) | self._extension(path)
            if value not in allowed:
                problems.append(f"{path}: {value!r} not in enum {sorted(map(str, allowed))}")
        fmt = schema.get("format")
        if fmt in ("dateTime", "date-time") and isinstance(value, str) and not RFC3339_NANO.match(value):
            problems.append(f"{path}: {value!r} is not an RFC 3339 time")
        if fmt in _UINT_FORMATS and isinstance(value, int) and value < 0:
            problems.append(f"{path}: {value} is negative for {fmt}")
        if kind == "object" or (isinstance(value, dict) and ("properties" in schema or "allOf" in schema)):
            self._check_object(value, schema, path, problems)
        elif kind == "array":
            items = schema.get("items")
            if items:
                for i, item in enumerate(value):
                    self._check(item, items, f"{path}[{i}]", problems)

    def _check_part(self, value, part: dict, path: str, problems: list[str]) -> None:
        # allOf parts are checked without strict unknown-key detection (keys may come from siblings)
        strict, self.strict = self.strict, False
        try:
            self._check(value, part, path, problems)
        finally:
            self.strict = strict

    def _check_object(self, value: dict, schema: dict, path: str, problems: list[str]) -> None:
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                problems.append(f"{path}: missing required field {name!r}")
        extra = schema.get("additionalProperties")
        declared, open_ended = self._declared_keys(schema, path, problems)
        for key, item in value.items():
            sub = f"{path}.{key}"
            if key in props:
                self._check(item, props[key], sub, problems)
            elif isinstance(extra, dict):
                self._check(item, extra, sub, problems)
            elif self.strict and not open_ended and key not in declared:
                problems.append(f"{sub}: key not declared by the spec")

    def _extension(self, path: str) -> set[str]:
        out: set[str] = set()
        for suffix, values in self.enum_extensions.items():
            if path.endswith(suffix):
                out |= set(values)
        return out


def _type_ok(value, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def get_path(obj, dotted: str):
    """obj["A"]["B"] for "A.B"; KeyError names the missing part."""
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(f"{dotted}: missing {part!r}")
        cur = cur[part]
    return cur
