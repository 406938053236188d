"""Structured output: the `json_schema` scorer, the provider's structured-output mode as a
model setting, and the `extraction-schema` suites — at the scorer, in file suites, and
through `evalkit compare` against the scripted server (the request body as sent)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Target, request_hash, request_params, sample_params
from evalkit.scoring import check_reference, score_item
from evalkit.scoring.json_schema import schema_errors, strict_compatible
from evalkit.suites.base import Sample
from evalkit.suites.builtin import generate_builtin
from evalkit.testing.scripted_server import Reply

SCHEMA = {
    "type": "object",
    "properties": {"total": {"type": "number"}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "required": ["total", "currency"],
    "additionalProperties": False,
}
REFERENCE = {"total": 12.5, "currency": "EUR"}


def score(reply: str, reference=REFERENCE, schema=SCHEMA):
    sample = Sample(id="1", suite="s", messages=(), reference=reference, scorer="json_schema",
                    scorer_options={"schema": schema})
    return score_item(reply, sample)


def test_a_reply_that_breaks_the_schema_scores_zero_whatever_its_values():
    assert score('{"total": 12.5, "currency": "EUR"}').value == 1.0
    broken = score('{"total": "12.5", "currency": "EUR", "note": "paid"}')  # json_fields would give 1.0
    assert broken.value == 0.0
    assert broken.detail == ("breaks the schema: $: Additional properties are not allowed ('note' was unexpected); "
                             "$.total: '12.5' is not of type 'number'")
    assert score("```json\n{\"total\": 13, \"currency\": \"EUR\"}\n```").value == 0.5  # valid, one field wrong
    assert score("no JSON here").detail == "no JSON object found"
    assert score('{"total": 1, "currency": "usd"}', reference={}).value == 0.0  # {}: the schema alone
    assert score('{"total": 1, "currency": "USD"}', reference={}).value == 1.0


def test_a_schema_that_is_not_one_is_refused_before_any_call():
    with pytest.raises(Exception, match=r"option 'schema' of scorer 'json_schema' must be a JSON Schema object.*"
                                        r"invalid at type"):
        check_reference("json_schema", {}, {"schema": {"type": "objekt"}})
    with pytest.raises(Exception, match="needs option 'schema'"):
        check_reference("json_schema", {}, {})


def test_strict_mode_is_asked_for_only_where_the_schema_allows_it():
    assert strict_compatible(SCHEMA)
    assert not strict_compatible({**SCHEMA, "required": ["total"]})  # strict needs every field required
    assert not strict_compatible({"type": "object", "properties": {"a": {"type": "object", "properties": {}}},
                                  "required": ["a"], "additionalProperties": False})  # nested object open


@pytest.mark.parametrize("suite", ["extraction-schema", "extraction-schema-zh"])
def test_every_generated_reference_keeps_to_its_own_schema(suite):
    for sample in generate_builtin(suite, 50, seed=7):
        schema = sample.scorer_options["schema"]
        assert sample.scorer == "json_schema" and json.dumps(schema) in sample.prompt_text
        assert schema_errors(sample.reference, schema) == [], sample.id
        assert score_item(json.dumps(sample.reference, ensure_ascii=False), sample).value == 1.0
        assert strict_compatible(schema)


def test_a_bad_schema_in_a_file_suite_names_the_line_and_stores_nothing(tmp_path):
    suite = tmp_path / "forms.jsonl"
    good = {"id": "a", "prompt": "p", "reference": {}, "scorer": "json_schema", "scorer_options": {"schema": SCHEMA}}
    bad = {**good, "id": "b", "scorer_options": {"schema": {"type": "object", "required": "total"}}}
    suite.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    store = tmp_path / "h.db"
    result = CliRunner().invoke(main, ["compare", "-m", "openai/gpt-4.1-mini", "-s", str(suite), "--store",
                                       str(store), "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert f"{suite}:2" in result.output and "'schema'" in result.output and "invalid at required" in result.output
    assert not store.exists()


def test_structured_output_mode_sends_the_items_schema_and_prompting_does_not(tmp_path, scripted_server,
                                                                              bench_config):
    items = [{"id": f"i{n}", "prompt": f"invoice {n}", "reference": {"total": float(n), "currency": "EUR"},
              "scorer": "json_schema", "scorer_options": {"schema": SCHEMA}} for n in (1, 2)]
    suite = tmp_path / "forms.jsonl"
    suite.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")

    def answer(request):  # the schema mode keeps to the shape; the prompted one quotes its numbers
        n = request.prompt.split()[-1]
        total = n if "response_format" in request.body else f'"{n}"'
        return Reply(f'{{"total": {total}, "currency": "EUR"}}', prompt_tokens=30, completion_tokens=9)

    server = scripted_server(answer)
    config = bench_config(server, suite, labels=("prompted",))
    text = config.read_text(encoding="utf-8")
    schema_model = text.split("models:\n", 1)[1].split("suites:", 1)[0].replace("prompted", "schema")
    config.write_text(text.replace("suites:", schema_model.rstrip("\n") + "\n  structured_output: schema\nsuites:"),
                      encoding="utf-8")
    store = tmp_path / "h.db"
    result = CliRunner().invoke(main, ["compare", "-c", str(config), "--store", str(store), "--results-dir",
                                       str(tmp_path / "results"), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bodies = {r.body["model"]: r.body for r in server.requests if r.path.endswith("/chat/completions")}
    assert "response_format" not in bodies["prompted"]
    assert bodies["schema"]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
    with sqlite3.connect(store) as db:
        scores = dict(db.execute("select model, avg(score) from records group by model").fetchall())
    assert scores == {"prompted": 0.0, "schema": 1.0}


def test_the_mode_is_part_of_what_was_asked_so_the_cache_never_mixes_them():
    sample = Sample(id="1", suite="s", messages=({"role": "user", "content": "x"},), reference={},
                    scorer="json_schema", scorer_options={"schema": SCHEMA})
    plain = Sample(id="2", suite="s", messages=sample.messages, reference="x", scorer="exact")
    prompted = Target(label="m", model_id="openai/m", config_id="openai/m", price=ModelPrice("m", "openai/m"),
                      params={"max_tokens": 9})
    schema = replace(prompted, structured_output=True)
    assert request_params(prompted, sample) == {"max_tokens": 9}
    assert request_params(schema, sample)["response_format"]["json_schema"]["schema"] == SCHEMA
    assert request_params(schema, plain) == {"max_tokens": 9}  # a scorer without a structure: nothing added
    hash_of = {t.structured_output: request_hash(t, sample.messages, sample_params(t, sample))
               for t in (prompted, schema)}
    assert hash_of[True] != hash_of[False]
    assert hash_of[False] == request_hash(prompted, sample.messages)  # prompting: hashes as before
