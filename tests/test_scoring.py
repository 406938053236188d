"""Scorers on realistic replies: what they extract, how they mark, and how they reject bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.errors import UsageError
from evalkit.scoring import Score, check_reference, check_scorer, get_scorer, score_item, scorers
from evalkit.scoring.text import normalise_answer
from evalkit.suites.base import Sample


def score(name: str, response: str, reference: object, **options: object) -> Score:
    return get_scorer(name).score(response, reference, **options)


def test_registry_has_the_contract_names() -> None:
    expected = {"exact", "numeric", "regex", "choice", "json_fields", "contains", "label", "constraints"}
    assert expected <= set(scorers())


def test_the_readme_documents_every_scorer() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Scorers\n", 1)[1].split("\n### ", 1)[0]
    documented = [m[1] for row in section.splitlines() if (m := re.match(r"\| `(\w+)` \|", row))]
    assert sorted(documented) == sorted(scorers())


# ---------------------------------------------------------------------------
# exact


@pytest.mark.parametrize(
    "response",
    [
        "Paris",
        "  paris. ",
        "**Paris**",
        '"Paris"',
        "Answer: Paris",
        "**Answer:** Paris.",
        "answer：PARIS",
        "Paris\n",
        "`Paris`",
    ],
)
def test_exact_accepts_formatting_around_the_answer(response: str) -> None:
    assert score("exact", response, "Paris") == Score(1.0, "paris")


@pytest.mark.parametrize("response", ["北京", "答案：北京。", "“北京”", "「北京」！", "答案: 北京"])
def test_exact_handles_chinese_punctuation_and_label(response: str) -> None:
    result = score("exact", response, "北京")
    assert result.value == 1.0
    assert result.extracted == "北京"


def test_exact_collapses_whitespace_and_casefolds() -> None:
    assert score("exact", "New   York\nCity", "new york city").value == 1.0


def test_exact_wrong_answer_names_the_expected_one() -> None:
    result = score("exact", "The capital is Lyon", "Paris")
    assert result.value == 0.0
    assert result.extracted == "the capital is lyon"
    assert "Paris" in result.detail


def test_exact_is_not_a_substring_match() -> None:
    assert score("exact", "Paris, France", "Paris").value == 0.0


def test_exact_keeps_minus_sign_and_percent() -> None:
    assert score("exact", "-5", "5").value == 0.0
    assert score("exact", "-5.", "-5").value == 1.0
    assert normalise_answer("45%.") == "45%"


def test_exact_aliases() -> None:
    assert score("exact", "NYC", "New York", aliases=["NYC", "New York City"]).value == 1.0
    assert score("exact", "LA", "New York", aliases=["NYC"]).value == 0.0


def test_exact_numeric_reference_compares_as_text() -> None:
    assert score("exact", "42", 42).value == 1.0


# ---------------------------------------------------------------------------
# numeric


@pytest.mark.parametrize(
    ("response", "reference", "extracted"),
    [
        ("42", 42, "42"),
        ("Step 1: 6 * 7 = 42.\nSo the result is 42.", 42, "42"),
        ("Answer: 12 apples, because 3 * 4 = 12 and 2 are left", 12, "12"),
        ("First 10, then 20.\nFinal answer: 30", 30, "30"),
        ("The final answer is 7", 7, "7"),
        ("答案：-3.5", -3.5, "-3.5"),
        ("所以答案是42个苹果。", 42, "42"),
        ("答案:1,234", 1234, "1,234"),
        ("The total comes to 1,234,567 units", 1234567, "1,234,567"),
        ("It costs $12.50 in total.", 12.5, "$12.50"),
        ("The price went from $10 to -$2.5", -2.5, "-$2.5"),
        ("We get 3/4 of the cake", 0.75, "3/4"),
        ("$$\\boxed{\\frac{3}{4}}$$", 0.75, "3/4"),
        ("Thus 2+2 = \\boxed{4}. Checking: 4 - 1 = 3", 4, "4"),
        ("The temperature is −7 °C", -7, "-7"),
        ("Answer: 1.5e3", 1500, "1.5e3"),
        ("１２３", 123, "123"),
    ],
)
def test_numeric_extracts_the_final_number(response: str, reference: float, extracted: str) -> None:
    result = score("numeric", response, reference)
    assert result == Score(1.0, extracted)


def test_numeric_answer_label_beats_a_later_number() -> None:
    result = score("numeric", "Answer: 17\n\nNote: I assumed 3 people.", 17)
    assert result.value == 1.0
    assert score("numeric", "Answer: 17\n\nNote: I assumed 3 people.", 3).value == 0.0


def test_numeric_percent_matches_whole_or_fraction_reference() -> None:
    assert score("numeric", "The rate is 45%", 45).value == 1.0
    assert score("numeric", "The rate is 45%", 0.45).value == 1.0
    assert score("numeric", "The rate is 45%", 0.5).value == 0.0


def test_numeric_does_not_read_numbers_inside_words() -> None:
    assert score("numeric", "H2O is water", 2).value == 0.0


def test_numeric_no_space_thousands() -> None:
    # "1 234" is two numbers; the last one is the answer.
    assert score("numeric", "1 234", 234).extracted == "234"


def test_numeric_wrong_and_missing() -> None:
    wrong = score("numeric", "I get 41.", 42)
    assert wrong == Score(0.0, "41", "expected 42, got 41")
    missing = score("numeric", "I cannot tell.", 42)
    assert missing.value == 0.0
    assert missing.extracted is None
    assert "no number" in missing.detail


def test_numeric_tolerances() -> None:
    assert score("numeric", "3.14", 3.14159).value == 0.0
    assert score("numeric", "3.14", 3.14159, tolerance=0.01).value == 1.0
    assert score("numeric", "1010", 1000, relative_tolerance=0.02).value == 1.0
    assert score("numeric", "1030", 1000, relative_tolerance=0.02).value == 0.0


def test_numeric_reference_may_be_a_numeric_string() -> None:
    assert score("numeric", "Answer: 1234.5", "1,234.50").value == 1.0
    assert score("numeric", "0.75", "3/4").value == 1.0


# ---------------------------------------------------------------------------
# regex


def test_regex_compares_the_capture_with_exact_normalisation() -> None:
    result = score("regex", "Thinking...\nRESULT: **Paris**.", "paris", pattern=r"RESULT:\s*(.+)$")
    assert result == Score(1.0, "**Paris**.")


def test_regex_uses_the_last_match() -> None:
    reply = "<a>draft</a> then <a>final</a>"
    assert score("regex", reply, "final", pattern=r"<a>(.*?)</a>").value == 1.0


def test_regex_ignore_case_option() -> None:
    assert score("regex", "answer=Yes", "yes", pattern=r"ANSWER=(\w+)").value == 0.0
    assert score("regex", "answer=Yes", "yes", pattern=r"ANSWER=(\w+)", ignore_case=True).value == 1.0


def test_regex_no_match_and_wrong_capture() -> None:
    none = score("regex", "no tags here", "x", pattern=r"<a>(.*?)</a>")
    assert none.value == 0.0 and none.extracted is None and "did not match" in none.detail
    wrong = score("regex", "<a>y</a>", "x", pattern=r"<a>(.*?)</a>")
    assert wrong.value == 0.0 and wrong.extracted == "y" and "'x'" in wrong.detail


# ---------------------------------------------------------------------------
# choice


@pytest.mark.parametrize(
    "response",
    [
        "B",
        "b",
        "(B)",
        "B.",
        "**B**",
        "Answer: B",
        "Answer: (B) Paris",
        "The answer is B.",
        "The correct answer is **B**",
        "答案：B",
        "答案是B。",
        "我选B",
        "B. Paris is the capital of France.",
        "Option A is wrong because of X. The answer is B",
        "Because the Bus is late, I pick (B).",
        "A good option here is B.",
        "Ｂ",
    ],
)
def test_choice_extracts_the_letter(response: str) -> None:
    assert score("choice", response, "B") == Score(1.0, "B")


def test_choice_last_stated_answer_wins() -> None:
    reply = "My first guess: the answer is A. On reflection, the answer is C"
    assert score("choice", reply, "C") == Score(1.0, "C")


def test_choice_article_a_is_not_option_a() -> None:
    assert score("choice", "A lot of people would pick B", "B").value == 1.0
    assert score("choice", "A is the only one that fits", "A").value == 1.0


def test_choice_ignores_letters_inside_words() -> None:
    result = score("choice", "Because Dogs Are Cute", "B")
    assert result.value == 0.0
    assert result.extracted is None


def test_choice_wrong_letter_is_extracted() -> None:
    result = score("choice", "The answer is C", "B")
    assert result == Score(0.0, "C", "expected B")


def test_choice_hedging_between_letters_is_not_credited() -> None:
    result = score("choice", "A or C, hard to say", "A")
    assert result.value == 0.0
    assert result.extracted is None
    assert "A, C" in result.detail


def test_choice_custom_choices() -> None:
    assert score("choice", "Answer: E", "E", choices=["A", "B", "C", "D", "E"]).value == 1.0
    assert score("choice", "Answer: E", "E").value == 0.0


# ---------------------------------------------------------------------------
# json_fields


def test_json_fields_bare_object() -> None:
    result = score("json_fields", '{"name": "Ada", "age": 36}', {"name": "ada", "age": 36})
    assert result == Score(1.0, '{"name":"Ada","age":36}')


def test_json_fields_in_a_fence_with_prose() -> None:
    reply = 'Here you go:\n```json\n{"city": "北京", "population": "21,540,000"}\n```\nHope it helps.'
    result = score("json_fields", reply, {"city": "北京", "population": 21540000})
    assert result.value == 1.0
    assert result.extracted == '{"city":"北京","population":"21,540,000"}'


def test_json_fields_unlabelled_fence_and_first_object_in_prose() -> None:
    assert score("json_fields", '```\n{"a": 1}\n```', {"a": 1}).value == 1.0
    reply = 'Use {placeholders} carefully. The result is {"total": "1,234.50", "ok": true} as asked.'
    assert score("json_fields", reply, {"total": 1234.5, "ok": True}).value == 1.0


def test_json_fields_partial_credit_names_wrong_and_missing_fields() -> None:
    reply = '{"name": "Bob", "age": 40, "tags": ["b", "a"]}'
    result = score("json_fields", reply, {"name": "Bob", "age": 41, "tags": ["a", "b"], "email": "b@x.io"})
    assert result.value == pytest.approx(0.25)
    assert "age" in result.detail and "tags" in result.detail and "email missing" in result.detail
    assert "name" not in result.detail


def test_json_fields_number_tolerance() -> None:
    assert score("json_fields", '{"x": 1.005}', {"x": 1.0}).value == 1.0
    assert score("json_fields", '{"x": 1.05}', {"x": 1.0}).value == 0.0
    assert score("json_fields", '{"x": 1.05}', {"x": 1.0}, tolerance=0.1).value == 1.0


def test_json_fields_types_are_not_confused() -> None:
    assert score("json_fields", '{"flag": 1}', {"flag": True}).value == 0.0
    assert score("json_fields", '{"n": true}', {"n": 1}).value == 0.0
    assert score("json_fields", '{"n": null}', {"n": None}).value == 1.0


def test_json_fields_unparseable() -> None:
    assert score("json_fields", "Sorry, I can't do that.", {"a": 1}) == Score(0.0, None, "no JSON object found")
    assert score("json_fields", '{"a": 1,,}', {"a": 1}).extracted is None
    assert score("json_fields", "[1, 2]", {"a": 1}).value == 0.0


# ---------------------------------------------------------------------------
# contains


def test_contains_fraction_present() -> None:
    result = score("contains", "Paris is the capital of France.", ["paris", "FRANCE", "Europe"])
    assert result.value == pytest.approx(2 / 3)
    assert "Europe" in result.detail


def test_contains_single_string_and_case_option() -> None:
    assert score("contains", "The Eiffel Tower", "eiffel tower").value == 1.0
    assert score("contains", "The Eiffel Tower", "eiffel tower", case_sensitive=True).value == 0.0
    assert score("contains", "长城在中国北方", ["长城", "北方"]).value == 1.0


# ---------------------------------------------------------------------------
# label

SENTIMENT = ["positive", "negative", "neutral"]


@pytest.mark.parametrize(
    "response",
    [
        "negative",
        "Negative.",
        "Label: negative",
        "The sentiment of this review is negative.",
        "It is not positive and not neutral.\nLabel: negative",
        "Answer:\nnegative",
    ],
)
def test_label_extracts_the_named_label(response: str) -> None:
    assert score("label", response, "negative", labels=SENTIMENT) == Score(1.0, "negative")


def test_label_word_boundaries() -> None:
    # "nonnegative" is not the label "negative"
    result = score("label", "The values are nonnegative", "negative", labels=SENTIMENT)
    assert result.value == 0.0 and result.extracted is None


def test_label_several_mentions_without_marker_takes_the_first() -> None:
    result = score("label", "Positive at first, but overall negative", "negative", labels=SENTIMENT)
    assert result == Score(0.0, "positive", "expected negative")


def test_label_chinese_substring_and_marker() -> None:
    labels = ["正面", "负面", "中性"]
    assert score("label", "这条评论整体是负面的。", "负面", labels=labels).value == 1.0
    assert score("label", "前半段偏正面，但\n类别：负面", "负面", labels=labels).value == 1.0


def test_label_longer_label_wins_over_its_substring() -> None:
    labels = ["spam", "not spam"]
    assert score("label", "This email is not spam.", "not spam", labels=labels).extracted == "not spam"


def test_label_none_found() -> None:
    result = score("label", "I am unsure.", "positive", labels=SENTIMENT)
    assert result.value == 0.0 and result.extracted is None and "no label" in result.detail


# ---------------------------------------------------------------------------
# constraints


def test_constraints_all_satisfied() -> None:
    reply = "- apples\n- pears\n- plums"
    reference = {"format": "bullets", "num_bullets": 3, "max_words": 6, "must_include": ["PEARS"]}
    assert score("constraints", reply, reference) == Score(1.0, None, "")


def test_constraints_fraction_and_detail_list_failures() -> None:
    reply = "- apples\n- pears\nand more"
    reference = {"format": "bullets", "num_bullets": 3, "must_not_include": ["More"], "min_words": 2}
    result = score("constraints", reply, reference)
    assert result.value == pytest.approx(0.25)
    assert "format" in result.detail and "num_bullets" in result.detail and "must_not_include" in result.detail
    assert "min_words" not in result.detail


@pytest.mark.parametrize(
    ("reply", "reference", "value"),
    [
        ("1. a\n2. b\n3. c", {"format": "numbered"}, 1.0),
        ("1. a\n3. b", {"format": "numbered"}, 0.0),
        ("HELLO, WORLD 42", {"format": "uppercase"}, 1.0),
        ("HELLO, World", {"format": "uppercase"}, 0.0),
        ("all quiet here.", {"format": "lowercase"}, 1.0),
        ('```json\n{"a": 1}\n```', {"format": "json_object"}, 1.0),
        ('Here: {"a": 1}', {"format": "json_object"}, 0.0),
        ("  Dear Sir, ... Best regards  ", {"starts_with": "Dear Sir", "ends_with": "Best regards"}, 1.0),
        ("Hi. Best regards.", {"ends_with": "Best regards"}, 0.0),
        ("one\n\ntwo\n  \nthree", {"num_paragraphs": 3}, 1.0),
        ("one\ntwo", {"num_paragraphs": 2}, 0.0),
        ("这是一个测试。", {"min_chars": 6, "max_chars": 6}, 1.0),  # 6 CJK chars, punctuation not counted
        ("这是一个测试。", {"max_chars": 5}, 0.0),
        ("one two three", {"min_words": 3, "max_words": 3}, 1.0),
    ],
)
def test_constraints_each_key(reply: str, reference: dict[str, object], value: float) -> None:
    assert score("constraints", reply, reference).value == value


# ---------------------------------------------------------------------------
# score_item


def _sample(**changes: object) -> Sample:
    fields: dict[str, object] = {
        "id": "q1",
        "suite": "s",
        "messages": ({"role": "user", "content": "2+2?"},),
        "reference": 4,
        "scorer": "numeric",
        "scorer_options": {"tolerance": 0.5},
    }
    fields.update(changes)
    return Sample(**fields)  # type: ignore[arg-type]


def test_score_item_uses_scorer_and_options() -> None:
    assert score_item("I think 4.4", _sample()) == Score(1.0, "4.4")
    assert score_item("I think 4.6", _sample()).value == 0.0


def test_score_item_without_response_scores_zero() -> None:
    assert score_item(None, _sample()) == Score(0.0, None, "no response")


def test_score_item_unknown_scorer_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="did you mean 'numeric'"):
        score_item("4", _sample(scorer="numerc", scorer_options={}))


@pytest.mark.parametrize(
    ("name", "response", "reference", "options"),
    [
        ("exact", "x", "y", {}),
        ("numeric", "1", 2, {}),
        ("json_fields", '{"a": 1, "b": 2}', {"a": 1, "b": 3, "c": 4}, {}),
        ("contains", "a b", ["a", "c"], {}),
        ("constraints", "x", {"min_words": 5, "max_words": 5}, {}),
        ("label", "neutral", "positive", {"labels": SENTIMENT}),
    ],
)
def test_scores_stay_in_unit_interval(name: str, response: str, reference: object, options: dict) -> None:
    value = score(name, response, reference, **options).value
    assert 0.0 <= value < 1.0


# ---------------------------------------------------------------------------
# check_scorer / check_reference


def test_check_scorer_suggests_close_name() -> None:
    with pytest.raises(UsageError) as info:
        check_scorer("exct", {})
    message = str(info.value)
    assert message.startswith("unknown scorer 'exct'; did you mean 'exact'?")
    assert "Known:" in message and "json_fields" in message and "\n" not in message


def test_check_scorer_unknown_name_without_suggestion_lists_known() -> None:
    with pytest.raises(UsageError, match=r"unknown scorer 'zzzz'; known: .*numeric"):
        check_scorer("zzzz", {})


def test_check_scorer_accepts_valid_options() -> None:
    check_scorer("numeric", {"tolerance": 0.1, "relative_tolerance": 0})
    check_scorer("regex", {"pattern": r"Answer: (\w+)", "ignore_case": True})
    check_scorer("label", {"labels": ["yes", "no"]})
    check_scorer("exact", {})


@pytest.mark.parametrize(
    ("name", "options", "fragment"),
    [
        ("numeric", {"tolerence": 0.1}, "has no option 'tolerence'; did you mean 'tolerance'?"),
        ("numeric", {"tolerance": "small"}, "option 'tolerance' of scorer 'numeric' must be a number >= 0"),
        ("numeric", {"tolerance": -1}, "must be a number >= 0"),
        ("numeric", {"tolerance": True}, "must be a number >= 0"),
        ("exact", {"aliases": "NYC"}, "must be a list of strings"),
        ("regex", {}, "scorer 'regex' needs option 'pattern'"),
        ("regex", {"pattern": "(a)(b)"}, "2 capture groups"),
        ("regex", {"pattern": "(unclosed"}, "does not compile"),
        ("regex", {"pattern": "(a)", "ignore_case": "yes"}, "must be true or false"),
        ("choice", {"choices": []}, "non-empty list"),
        ("choice", {"choices": ["A", "a"]}, "distinct"),
        ("label", {}, "needs option 'labels'"),
        ("contains", {"case_sensitive": 1}, "true or false"),
        ("constraints", {"max_words": 3}, "has no option 'max_words'"),
    ],
)
def test_check_scorer_rejects_bad_options(name: str, options: dict, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        check_scorer(name, options)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "reference", "options", "fragment"),
    [
        ("numeric", "about ten", {}, "must be a number"),
        ("choice", "E", {}, "must be one of A, B, C, D"),
        ("label", "happy", {"labels": ["positive", "negative"]}, "must be one of positive, negative"),
        ("json_fields", [], {}, "non-empty object"),
        ("contains", [], {}, "non-empty list"),
        ("exact", {"a": 1}, {}, "must be a string"),
        ("constraints", {"max_word": 3}, {}, "unknown constraint 'max_word'; did you mean 'max_words'?"),
        ("constraints", {"format": "table"}, {}, "one of json_object, bullets"),
        ("constraints", {"min_words": -1}, {}, "whole number >= 0"),
        ("constraints", {"must_include": "x"}, {}, "list of strings"),
    ],
)
def test_check_reference_rejects_bad_references(name: str, reference: object, options: dict, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        check_reference(name, reference, options)
    assert fragment in str(info.value)


def test_check_reference_accepts_good_references() -> None:
    check_reference("numeric", "1,234.5")
    check_reference("choice", "b")
    check_reference("constraints", {"format": "bullets", "max_words": 50, "must_include": ["x"]})
    check_reference("contains", ["a", "b"])
    check_reference("json_fields", {"a": [1, 2]})
