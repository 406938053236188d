"""The `json_schema` scorer: the reply's JSON must be valid against a JSON Schema, then match.

Structured output is two questions, and a buyer needs both answered: does the model keep
to the shape a program will parse (every required field, the right types, no field the
schema forbids), and are the values right? A reply that breaks the schema scores 0 —
the program reading it would fail — whatever its values; a valid one scores the share of
the reference's fields it gets right, compared as `json_fields` compares them.

Validation is the `jsonschema` package's, with the draft the schema names in `$schema`
(2020-12 when it names none). The same scorer builds the request's `response_format`
for a model whose `structured_output` is `schema`, so "the provider's structured-output
mode" and "asked in the prompt" are two candidates' settings on the very same items.
"""

from __future__ import annotations

from typing import Any

from evalkit.scoring.json_fields import compact, extract_json_object, field_mismatches
from evalkit.scoring.registry import TOLERANCE, OptionSpec, Score, scorer

MAX_ERRORS_SHOWN = 3
"""A reply can break a schema in many places; the detail names the first few by path."""


def _validator_class(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    return validator_for(schema, default=Draft202012Validator)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema evalkit can validate replies with, or None."""
    if not isinstance(schema, dict) or not schema:
        return "not a non-empty JSON object"
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as error:
        where = "/".join(map(str, error.path)) or "the top level"
        return f"invalid at {where}: {error.message}"
    return None


def _path(error: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Where `value` breaks `schema`, as ``$.field: message``, in a stable order."""
    validator = _validator_class(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_path(e)}: {e.message}" for e in errors]


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts `schema`: every object lists all its properties
    as required and forbids others (`additionalProperties: false`), all the way down."""
    if isinstance(schema, list):
        return all(strict_compatible(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or set(schema.get("required", [])) != set(properties):
            return False
    nested = [schema.get(k) for k in ("items", "anyOf", "allOf", "oneOf", "prefixItems")]
    nested += list(schema.get("properties", {}).values()) + list(schema.get("$defs", {}).values())
    return all(strict_compatible(s) for s in nested if s is not None)


def response_format(options: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's structured-output request for the item's schema; strict where it can be."""
    schema = options.get("schema")
    if not isinstance(schema, dict):
        return None
    return {"type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": strict_compatible(schema)}}


def _reference(reference: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(reference, dict):
        return "must be an object of expected field values ({} checks the schema alone)"
    return None


@scorer(
    "json_schema",
    reference=_reference,
    options={
        "schema": OptionSpec("a JSON Schema object", lambda v: schema_problem(v) is None, required=True,
                             why=lambda v: schema_problem(v) or ""),
        "tolerance": TOLERANCE,
    },
    response_format=response_format,
)
def json_schema(response: str, reference: dict[str, Any], schema: dict[str, Any], tolerance: float = 0.01) -> Score:
    """0 when the reply's JSON object breaks the schema; else the share of fields right."""
    parsed = extract_json_object(response)
    if parsed is None:
        return Score(0.0, None, "no JSON object found")
    errors = schema_errors(parsed, schema)
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        return Score(0.0, compact(parsed), "breaks the schema: " + "; ".join(errors[:MAX_ERRORS_SHOWN]) + more)
    if not reference:
        return Score(1.0, compact(parsed), "")
    wrong = field_mismatches(parsed, reference, tolerance)
    return Score(1 - len(wrong) / len(reference), compact(parsed), "; ".join(wrong))
