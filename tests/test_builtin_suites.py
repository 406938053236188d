"""Built-in generated suites: determinism, independence of n, exact ground truth, difficulty.

Ground truth is re-derived here without the generators' code: arithmetic expressions are
evaluated with exact fractions, invoice values are parsed back from the words they were
printed as, and a reply built to satisfy each instruction item is checked by the real
scorer.
"""

from __future__ import annotations

import ast
import json
import re
import statistics
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from evalkit.errors import UsageError
from evalkit.scoring import check_reference, score_item
from evalkit.scoring.constraints import CONSTRAINTS
from evalkit.scoring.registry import reply_json
from evalkit.scoring.tool_calls import resolve_any_of
from evalkit.suites.base import Sample
from evalkit.suites.builtin import GeneratedSuite, arithmetic, classification, generate_builtin, instructions
from evalkit.suites.registry import builtin_suites
from evalkit.testing.code_replies import lookup_table_reply, wrong_reply

README = Path(__file__).resolve().parents[1] / "README.md"
ALL_NAMES = list(builtin_suites())
NAMES = [name for name, suite in builtin_suites().items() if isinstance(suite, GeneratedSuite)]
"""The generated suites (humaneval is a fixed set of items, tested in test_code_scorer.py)."""
CJK = re.compile("[\u4e00-\u9fff]")

_cache: dict[tuple, list[Sample]] = {}


def samples(name: str, n: int = 60, seed: int = 11, difficulty: int | None = None) -> list[Sample]:
    """Generated once per argument set; generation is what most tests look at."""
    key = (name, n, seed, difficulty)
    if key not in _cache:
        _cache[key] = generate_builtin(name, n, seed, difficulty=difficulty)
    return _cache[key]


def language_of(name: str) -> str:
    return "zh" if name.endswith("-zh") else "en"


# ---------------------------------------------------------------- registry and conventions


def test_the_readme_documents_every_builtin_suite_in_listing_order():
    section = README.read_text(encoding="utf-8").split("\n## Suites\n", 1)[1].split("\n### ", 1)[0]
    documented = [name for row in section.splitlines() if row.startswith("| `")
                  for name in re.findall(r"`([^`]+)`", row.split("|")[1])]
    assert documented == ALL_NAMES


def test_registry_lists_every_suite_in_both_languages():
    bases = {name.removesuffix("-zh") for name in NAMES}
    assert sorted(NAMES) == sorted(name for base in bases for name in (base, f"{base}-zh"))
    for name in NAMES:
        suite = builtin_suites()[name]
        assert suite.name == name
        assert suite.language == language_of(name)
        assert suite.default_size > 0 and suite.default_size % 5 == 0
        assert suite.generate(2, 1)[0].suite == name


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_samples(name):
    assert generate_builtin(name, 15, 3) == generate_builtin(name, 15, 3)


@pytest.mark.parametrize("name", NAMES)
def test_different_seed_gives_different_samples(name):
    first = [s.prompt_text for s in samples(name, 30, seed=1)]
    second = [s.prompt_text for s in samples(name, 30, seed=2)]
    assert sum(a != b for a, b in zip(first, second)) >= 20


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("difficulty", [None, 4])
def test_item_i_does_not_depend_on_n(name, difficulty):
    few = generate_builtin(name, 4, 9, difficulty=difficulty)
    many = generate_builtin(name, 25, 9, difficulty=difficulty)
    assert few == many[:4]


@pytest.mark.parametrize("name", NAMES)
def test_ids_suite_cluster_and_metadata(name):
    batch = samples(name)
    assert [s.id for s in batch[:2]] == [f"{name}-0001", f"{name}-0002"]
    assert len({s.id for s in batch}) == len(batch)
    for sample in batch:
        assert sample.suite == name
        assert sample.cluster and sample.cluster.startswith(f"{name}:")
        assert sample.metadata["language"] == language_of(name)
        assert len(sample.messages) == 1 and sample.messages[0]["role"] == "user"


@pytest.mark.parametrize("name", NAMES)
def test_mixed_difficulty_spreads_levels_evenly(name):
    levels = [s.metadata["difficulty"] for s in samples(name, 23)]
    counts = [levels.count(level) for level in range(1, 6)]
    assert max(counts) - min(counts) <= 1
    assert {s.metadata["difficulty"] for s in samples(name, 10, difficulty=2)} == {2}


@pytest.mark.parametrize("name", NAMES)
def test_language_of_the_text(name):
    with_cjk = [bool(CJK.search(s.prompt_text)) for s in samples(name)]
    assert all(with_cjk) if language_of(name) == "zh" else not any(with_cjk)


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError, match=r"(?i)did you mean 'arithmetic'"):
        generate_builtin("arithmetik", 5, 1)
    with pytest.raises(UsageError, match="difficulty"):
        generate_builtin("arithmetic", 5, 1, difficulty=6)
    with pytest.raises(UsageError, match="language"):
        arithmetic.generate(5, 1, language="fr")


# ---------------------------------------------------------------- against the real scorers


@pytest.mark.parametrize("name", NAMES)
def test_references_pass_the_scorer_checks(name):
    for sample in samples(name):
        check_reference(sample.scorer, sample.reference, sample.scorer_options)


@pytest.mark.parametrize("name", NAMES)
def test_a_correct_reply_scores_one_and_a_wrong_one_does_not(name):
    # code items each run in the sandbox: two of every family are enough
    for sample in samples(name)[:20] if name.startswith("coding") else samples(name):
        right, wrong = _replies(sample)
        assert score_item(right, sample).value == 1.0, (sample.id, right)
        assert score_item(wrong, sample).value < 1.0, (sample.id, wrong)


def _replies(sample: Sample) -> tuple[str, str]:
    zh = sample.metadata["language"] == "zh"
    if sample.scorer == "numeric":
        prefix = "答案：" if zh else "Answer: "
        return f"{prefix}{sample.metadata['answer']}", f"{prefix}{Fraction(sample.metadata['answer']) + 1}"
    if sample.scorer in ("json_fields", "json_schema"):
        broken = {key: value + 1000 if isinstance(value, (int, float)) else "zzz"
                  for key, value in sample.reference.items()}
        return json.dumps(sample.reference, ensure_ascii=False), json.dumps(broken)
    if sample.scorer == "code":
        entry_point = sample.scorer_options["entry_point"]
        return lookup_table_reply(sample.reference, entry_point), wrong_reply(entry_point)
    if sample.scorer == "label":
        other = next(label for label in sample.scorer_options["labels"] if label != sample.reference)
        return sample.reference, other
    if sample.scorer == "tool_call":
        return _tool_replies(sample)
    return _compliant_reply(sample.reference, zh), _failing_reply(sample.reference)


def _tool_replies(sample: Sample) -> tuple[str, str]:
    """The reference calls made (each any_of at its first value), and no call or a needless one."""
    tools = sample.params["tools"]
    made = [{"id": f"c{i}", "name": call["name"], "arguments": json.dumps(resolve_any_of(call["arguments"]))}
            for i, call in enumerate(sample.reference)]
    needless = [{"id": "c0", "name": tools[0]["function"]["name"], "arguments": "{}"}]
    return reply_json("", made, tools), reply_json("" if not made else "I can't.", [] if made else needless, tools)


def _failing_reply(reference: dict) -> str:
    """A reply that breaks the item's first constraint."""
    key, value = next(iter(reference.items()))
    if key in ("max_words", "max_chars"):
        return "甲乙 word " * 2000
    if key == "must_not_include":
        return " ".join(value)
    return "X" if value == "lowercase" else "x"


def _compliant_reply(reference: dict, zh: bool) -> str:
    """A reply built to meet every constraint; if none can be built, the item is contradictory."""
    forbidden = reference.get("must_not_include", [])
    filler = next(w for w in (("甲", "乙", "丙") if zh else ("lorem", "ipsum", "dolor"))
                  if not any(f.casefold() in w for f in forbidden))
    low = reference.get("min_chars" if zh else "min_words", 0)
    fmt = reference.get("format")
    lines = reference.get("num_bullets") or (3 if fmt in ("bullets", "numbered") else 0)
    paragraphs = reference.get("num_paragraphs", 1)
    fillers = max(3 * max(lines, paragraphs), 0)
    for _ in range(2):  # second pass: top up to the minimum length, counted on the first build
        text = _build_reply(reference, zh, [filler] * fillers, lines, paragraphs)
        count = len(CJK.findall(text)) if zh else len(text.split())
        fillers += max(0, low - count)
    return text


def _build_reply(reference: dict, zh: bool, fillers: list[str], lines: int, paragraphs: int) -> str:
    join = "".join if zh else " ".join
    tokens = list(reference.get("must_include", [])) + fillers
    fmt = reference.get("format")
    if fmt == "json_object":
        return json.dumps({"text": join(tokens)}, ensure_ascii=False)
    parts = max(lines, paragraphs)
    chunks = [join(tokens[i::parts]) for i in range(parts)]
    if lines:
        marks = [f"{i}. " for i in range(1, lines + 1)] if fmt == "numbered" else ["- "] * lines
        blocks = [mark + chunk for mark, chunk in zip(marks, chunks)]
        separator = "\n"
    else:
        blocks, separator = chunks, "\n\n"
    if "starts_with" in reference:
        blocks[0] = reference["starts_with"] + ("\n" if lines else " ") + blocks[0]
    if "ends_with" in reference:
        blocks[-1] = blocks[-1] + ("" if zh else " ") + reference["ends_with"]
    text = separator.join(blocks)
    return text.upper() if fmt == "uppercase" else text.lower() if fmt == "lowercase" else text


# ---------------------------------------------------------------- arithmetic


def _evaluate(node: ast.AST, seen: list[Fraction]) -> Fraction:
    """Exact value of an expression of numbers, + - * /; every intermediate value is recorded."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, seen)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(str(node.value))
    assert isinstance(node, ast.BinOp), ast.dump(node)
    left, right = _evaluate(node.left, seen), _evaluate(node.right, seen)
    value = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}.get(type(node.op))
    if value is None:
        assert isinstance(node.op, ast.Div)
        value = left / right
    seen.append(value)
    return value


def _numbers_in(text: str) -> set[Fraction]:
    return {Fraction(match.replace(",", "")) for match in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


@pytest.mark.parametrize("name", ["arithmetic", "arithmetic-zh"])
def test_arithmetic_reference_recomputed_from_the_stored_expression(name):
    for sample in samples(name, 100):
        intermediates: list[Fraction] = []
        value = _evaluate(ast.parse(sample.metadata["expression"], mode="eval"), intermediates)
        assert value == Fraction(str(sample.reference)), sample.id
        # Nothing negative, nothing finer than cents along the way; counted things stay whole.
        assert all(v > 0 and (v * 100).denominator == 1 for v in intermediates), sample.id
        if sample.metadata["answer_kind"] == "count":
            assert isinstance(sample.reference, int), sample.id
        # Every number the computation uses is written in the problem.
        shown = _numbers_in(sample.prompt_text)
        assert {Fraction(x) for x in sample.metadata["operands"]} <= shown, sample.id


def test_arithmetic_gets_harder_with_level():
    steps, biggest = [], []
    for level in range(1, 6):
        batch = samples("arithmetic", 40, difficulty=level)
        steps.append(statistics.mean(s.metadata["steps"] for s in batch))
        biggest.append(statistics.median(max(Fraction(x) for x in s.metadata["operands"]) for s in batch))
        with_percent = sum("%" in s.prompt_text for s in batch)
        assert (with_percent == 0) if level <= 2 else (with_percent > 0 if level == 3 else with_percent == 40)
        extra = [_numbers_in(s.prompt_text) - {Fraction(x) for x in s.metadata["operands"]} for s in batch]
        assert (sum(map(bool, extra)) >= 36) if level >= 4 else not any(extra), level  # distractor facts
    assert steps == sorted(steps) and steps[0] == 1 and steps[-1] >= 5
    assert biggest == sorted(biggest) and biggest[-1] > 50 * biggest[0]


# ---------------------------------------------------------------- extraction

_CURRENCY_NAMES = {
    "USD": {"USD", "US$", "US dollars", "美元"}, "EUR": {"EUR", "€", "euros", "欧元"},
    "GBP": {"GBP", "£", "pounds sterling"}, "CHF": {"CHF", "Swiss francs"},
    "CAD": {"CAD", "CA$", "Canadian dollars"}, "AUD": {"AUD", "A$", "Australian dollars"},
    "CNY": {"CNY", "¥", "人民币"}, "HKD": {"HKD", "HK$", "港币"},
}
_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%d %B %Y", "%d.%m.%Y", "%d %b %Y", "%Y年%m月%d日", "%Y.%m.%d", "%Y/%m/%d")


def _parse_amount(text: str) -> Decimal:
    if re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", text):  # European: 1.234,56
        return Decimal(text.replace(".", "").replace(",", "."))
    return Decimal(text.replace(",", ""))


def _parse_date(text: str) -> date:
    if re.fullmatch(r"\d\d\.\d\d\.\d{4}", text):
        assert int(text[:2]) > 12, f"{text} could be read as month.day"
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise AssertionError(f"unparseable date {text!r}")


def _check_field(name: str, expected, surface: str | None, sample: Sample) -> None:
    prompt = sample.prompt_text
    if surface is not None:
        assert surface in prompt, (sample.id, name, surface)
    items = sample.metadata["items"]
    if name in ("subtotal", "tax", "total"):
        assert _parse_amount(surface) == Decimal(str(expected))
    elif name == "tax_rate":
        assert Decimal(surface.rstrip("%")) == Decimal(str(expected))
    elif name in ("invoice_date", "due_date"):
        assert _parse_date(surface).isoformat() == expected
    elif name == "currency":
        assert surface in _CURRENCY_NAMES[expected]
    elif name == "line_item_count":
        assert expected == len(items) and all(description in prompt for description, _, _ in items)
    elif name == "most_expensive_item":
        amounts = sorted((qty * Decimal(price), desc) for desc, qty, price in items)
        assert amounts[-1][1] == expected and (len(amounts) == 1 or amounts[-2][0] < amounts[-1][0])
    else:
        assert surface == expected


@pytest.mark.parametrize("name", ["extraction", "extraction-zh"])
def test_extraction_values_are_written_in_the_invoice(name):
    for sample in samples(name, 100):
        assert list(sample.reference) == sample.metadata["fields"]
        for field_name, expected in sample.reference.items():
            _check_field(field_name, expected, sample.metadata["surface"][field_name], sample)
            assert f"- {field_name}" in sample.prompt_text  # the field is asked for


@pytest.mark.parametrize("name", ["extraction", "extraction-zh"])
def test_extraction_totals_add_up_from_the_line_items(name):
    for sample in samples(name, 100, difficulty=5):
        subtotal = sum(qty * Decimal(price) for _, qty, price in sample.metadata["items"])
        reference = sample.reference
        if "subtotal" in reference:
            assert Decimal(str(reference["subtotal"])) == subtotal
        if "tax" in reference and "tax_rate" in reference:
            tax = (subtotal * Decimal(str(reference["tax_rate"])) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert Decimal(str(reference["tax"])) == tax
            if "total" in reference:
                assert Decimal(str(reference["total"])) == subtotal + tax


def test_extraction_gets_harder_with_level():
    fields, traps = [], []
    for level in range(1, 6):
        batch = samples("extraction", 30, difficulty=level)
        fields.append(statistics.mean(len(s.reference) for s in batch))
        traps.append(statistics.mean(len(s.metadata["traps"]) for s in batch))
    assert fields == sorted(fields) and fields[0] <= 3 and fields[-1] >= 8
    assert traps == sorted(traps) and traps[-1] >= traps[0] + 3


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize("name", ["classification", "classification-zh"])
def test_classification_label_follows_from_the_intent(name):
    batch = samples(name, 120)
    labels = batch[0].scorer_options["labels"]
    assert len(labels) == 6
    keys = dict(zip(classification.LABEL_KEYS, labels))
    for sample in batch:
        assert sample.scorer_options["labels"] == labels
        assert sample.reference == keys[sample.metadata["label_key"]]
        assert sample.metadata["intent"].startswith(sample.metadata["label_key"] + "-")
        assert sample.metadata["label_key"] not in sample.metadata["distractor_labels"]
    assert len({s.reference for s in batch}) == 6  # every label is used


def test_classification_gets_harder_with_level():
    lengths = []
    for level in range(1, 6):
        batch = samples("classification", 30, difficulty=level)
        lengths.append(statistics.mean(len(s.prompt_text) for s in batch))
        distractors = [s.metadata["distractor_labels"] for s in batch]
        if level <= 2:
            assert not any(distractors)
        if level == 5:  # the easiest label to confuse with the right one is always raised and ruled out
            assert all(classification.CONFUSABLE[s.metadata["label_key"]] in s.metadata["distractor_labels"]
                       for s in batch)
    assert lengths[0] < lengths[2] < lengths[4]


# ---------------------------------------------------------------- instructions


@pytest.mark.parametrize("name", ["instructions", "instructions-zh"])
def test_instruction_references_use_known_constraints_only(name):
    for sample in samples(name, 100):
        assert set(sample.reference) <= set(CONSTRAINTS), sample.reference
        assert set(sample.reference) <= set(instructions.CONSTRAINT_KEYS)
        if language_of(name) == "zh":
            assert not {"min_words", "max_words"} & set(sample.reference)
            assert sample.reference.get("format") not in ("uppercase", "lowercase")
        required = " ".join(sample.reference.get("must_include", []) + [
            sample.reference.get("starts_with", ""), sample.reference.get("ends_with", "")]).casefold()
        assert not any(word.casefold() in required for word in sample.reference.get("must_not_include", []))


def test_instructions_get_harder_with_level():
    for level, keys in zip(range(1, 6), (1, 2, 3, 4, 4)):
        batch = samples("instructions", 30, difficulty=level)
        assert {len(s.reference) for s in batch} == {keys}, level
        if level == 5:
            for s in batch:
                assert s.reference["must_not_include"] and s.reference["max_words"] - s.reference["min_words"] <= 20
