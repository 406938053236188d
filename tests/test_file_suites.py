"""User-written JSONL and CSV suites: what loads, and how every mistake is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import UsageError
from evalkit.suites.base import Sample
from evalkit.suites.files import MAX_ERRORS, load_file_suite


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*rows: object) -> str:
    return "\n".join(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows) + "\n"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(UsageError) as info:
        load_file_suite(path)
    return str(info.value).splitlines()


# ---------------------------------------------------------------------------
# Good files


def test_jsonl_loads_into_samples(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "geo.jsonl",
        jsonl(
            {"id": "q1", "prompt": "Capital of France?", "reference": "Paris"},
            "",
            {
                "id": 2,
                "messages": [
                    {"role": "system", "content": "Answer with a number."},
                    {"role": "user", "content": "2+2?"},
                ],
                "reference": 4,
                "scorer": "numeric",
                "scorer_options": {"tolerance": 0.5},
                "cluster": "arith",
                "metadata": {"lang": "en", "difficulty": 1},
            },
        ),
    )
    assert load_file_suite(path) == [
        Sample(
            id="q1",
            suite="geo",
            messages=({"role": "user", "content": "Capital of France?"},),
            reference="Paris",
            scorer="exact",
        ),
        Sample(
            id="2",
            suite="geo",
            messages=(
                {"role": "system", "content": "Answer with a number."},
                {"role": "user", "content": "2+2?"},
            ),
            reference=4,
            scorer="numeric",
            scorer_options={"tolerance": 0.5},
            cluster="arith",
            metadata={"lang": "en", "difficulty": 1},
        ),
    ]


def test_suite_name_can_be_given(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", jsonl({"id": "a", "prompt": "p", "reference": "r"}))
    assert load_file_suite(str(path), name="custom")[0].suite == "custom"


def test_jsonl_chinese_and_windows_line_endings(tmp_path: Path) -> None:
    text = jsonl({"id": "zh1", "prompt": "中国的首都是哪里？", "reference": "北京"}).replace("\n", "\r\n")
    path = write(tmp_path, "zh.jsonl", text)
    [sample] = load_file_suite(path)
    assert sample.prompt_text == "中国的首都是哪里？"
    assert sample.reference == "北京"


def test_csv_loads_into_samples(tmp_path: Path) -> None:
    text = (
        "id,prompt,reference,scorer,scorer_options,cluster,metadata\n"
        'q1,"What is 1,000 + 1?",1001,numeric,,,\n'
        'q2,"Return JSON\nwith a and b",{"a": 1},json_fields,"{""tolerance"": 0.5}",c1,"{""lang"": ""en""}"\n'
        "q3,Is it spam?,spam,label,\"{\"\"labels\"\": [\"\"spam\"\", \"\"ham\"\"]}\",,\n"
        "q4,Capital?,Paris,,,,\n"
        'q5,Price?,1.50,exact,,,\n'
        'q6,Keywords?,"[""a"", ""b""]",contains,,,\n'
    )
    samples = load_file_suite(write(tmp_path, "mixed.csv", text))
    assert [s.id for s in samples] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert all(s.suite == "mixed" for s in samples)
    q1, q2, q3, q4, q5, q6 = samples
    assert q1.reference == 1001 and q1.scorer == "numeric" and q1.scorer_options == {}
    assert q1.messages == ({"role": "user", "content": "What is 1,000 + 1?"},)
    assert q2.reference == {"a": 1} and q2.scorer_options == {"tolerance": 0.5}
    assert q2.cluster == "c1" and q2.metadata == {"lang": "en"}
    assert q2.prompt_text == "Return JSON\nwith a and b"
    assert q3.scorer_options == {"labels": ["spam", "ham"]} and q3.reference == "spam"
    assert q4.scorer == "exact" and q4.cluster is None and q4.metadata == {}
    assert q5.reference == "1.50"  # a text scorer keeps the number as written
    assert q6.reference == ["a", "b"]


def test_csv_messages_column_and_bom(tmp_path: Path) -> None:
    messages = '"[{""role"": ""system"", ""content"": ""Be brief""}, {""role"": ""user"", ""content"": ""Hi""}]"'
    path = tmp_path / "chat.csv"
    path.write_text(f"id,messages,reference\nm1,{messages},hello\n", encoding="utf-8-sig")
    [sample] = load_file_suite(path)
    assert sample.messages == ({"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"})


# ---------------------------------------------------------------------------
# Malformed JSONL: each error names file and line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "a", "prompt": "p", "reference": "r"', "invalid JSON"),
        ('["a", "b"]', "expected a JSON object {...}, got an array"),
        ({"prompt": "p", "reference": "r"}, "missing 'id'; give each sample a unique id"),
        ({"id": "a", "prompt": "p"}, "missing 'reference'; give the expected answer"),
        ({"id": "a", "reference": "r"}, "missing 'prompt' (or 'messages')"),
        (
            {"id": "a", "prompt": "p", "messages": [{"role": "user", "content": "p"}], "reference": "r"},
            "both 'prompt' and 'messages' given",
        ),
        ({"id": "a", "prompt": 5, "reference": "r"}, "'prompt': input should be a valid string, got 5"),
        ({"id": True, "prompt": "p", "reference": "r"}, "'id': input should be a valid string"),
        ({"id": "a", "prompt": "  ", "reference": "r"}, "'prompt' is empty"),
        ({"id": "a", "prompt": "p", "reference": None}, "'reference' is null"),
        ({"id": "a", "messages": [], "reference": "r"}, "'messages' is empty"),
        (
            {"id": "a", "messages": [{"role": "bot", "content": "p"}], "reference": "r"},
            "'messages.0.role': input should be 'system', 'user' or 'assistant', got 'bot'",
        ),
        ({"id": "a", "messages": [{"role": "user"}], "reference": "r"}, "missing 'messages.0.content'"),
        (
            {"id": "a", "messages": [{"role": "user", "content": "p", "name": "x"}], "reference": "r"},
            "unknown field 'messages.0.name'; a message has only 'role' and 'content'",
        ),
        (
            {"id": "a", "messages": [{"role": "user", "content": "p"}, {"role": "assistant", "content": "x"}],
             "reference": "r"},
            "the last message has role 'assistant'; end 'messages' with a 'user' message",
        ),
        (
            {"id": "a", "prompt": "p", "reference": "r", "scorer_option": {}},
            "unknown field 'scorer_option' (did you mean 'scorer_options'?)",
        ),
        ({"id": "a", "prompt": "p", "reference": "r", "scorer_options": "x"}, "'scorer_options': input should be"),
        ({"id": "a", "prompt": "p", "reference": "r", "metadata": [1]}, "'metadata': input should be"),
        (
            {"id": "a", "prompt": "p", "reference": "r", "scorer": "exct"},
            "unknown scorer 'exct'; did you mean 'exact'?",
        ),
        (
            {"id": "a", "prompt": "p", "reference": 1, "scorer": "numeric", "scorer_options": {"tol": 1}},
            "scorer 'numeric' has no option 'tol'",
        ),
        ({"id": "a", "prompt": "p", "reference": "E", "scorer": "choice"}, "must be one of A, B, C, D"),
        (
            {"id": "a", "prompt": "p", "reference": {"max_word": 5}, "scorer": "constraints"},
            "unknown constraint 'max_word'; did you mean 'max_words'?",
        ),
    ],
)
def test_jsonl_malformed_line_is_reported_with_its_line(tmp_path: Path, line: object, expected: str) -> None:
    good = {"id": "ok", "prompt": "p", "reference": "r"}
    path = write(tmp_path, "bad.jsonl", jsonl(good, "", line))
    [error] = errors_of(path)
    assert error.startswith(f"{path}:3: ")
    assert expected in error


def test_duplicate_id_names_the_first_line(tmp_path: Path) -> None:
    row = {"id": "q1", "prompt": "p", "reference": "r"}
    path = write(tmp_path, "dup.jsonl", jsonl(row, {"id": "q2", "prompt": "p", "reference": "r"}, row))
    assert errors_of(path) == [f"{path}:3: duplicate id 'q1' (first used on line 1); ids must be unique within a file"]


def test_number_and_string_ids_collide(tmp_path: Path) -> None:
    rows = jsonl({"id": 7, "prompt": "p", "reference": "r"}, {"id": "7", "prompt": "p", "reference": "r"})
    path = write(tmp_path, "dup.jsonl", rows)
    assert "duplicate id '7'" in errors_of(path)[0]


def test_all_errors_reported_together_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "many.jsonl",
        jsonl(
            {"id": "a", "prompt": "p", "reference": "r"},
            "not json",
            {"id": "b", "prompt": "p"},
            {"id": "a", "prompt": "p", "reference": "r"},
            {"id": "c", "prompt": 1, "reference": "r", "scorer": "regx"},
        ),
    )
    errors = errors_of(path)
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:5"]
    assert "invalid JSON" in errors[0]
    assert "missing 'reference'" in errors[1]
    assert "duplicate id 'a'" in errors[2]
    assert "'prompt'" in errors[3]
    assert "did you mean 'regex'" in errors[4]


def test_error_list_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.jsonl", "nope\n" * (MAX_ERRORS + 5))
    errors = errors_of(path)
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1] == f"and 5 more errors in {path}"
    assert errors[MAX_ERRORS - 1].startswith(f"{path}:{MAX_ERRORS}: ")


def test_one_bad_line_means_no_samples(tmp_path: Path) -> None:
    path = write(tmp_path, "half.jsonl", jsonl({"id": "a", "prompt": "p", "reference": "r"}, "{"))
    with pytest.raises(UsageError):
        load_file_suite(path)


# ---------------------------------------------------------------------------
# Malformed CSV


def test_csv_header_missing_required_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "id,question,answer\nq1,p,r\n")
    errors = errors_of(path)
    assert all(e.startswith(f"{path}:1: ") for e in errors)
    text = "\n".join(errors)
    assert "lacks a 'reference' column" in text
    assert "lacks a 'prompt' (or 'messages') column" in text
    assert "unknown column 'question'" in text


def test_csv_header_typo_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "id,prompt,reference,scorer_option\nq1,p,r,{}\n")
    assert errors_of(path) == [
        f"{path}:1: CSV header has unknown column 'scorer_option' (did you mean 'scorer_options'?); "
        "put other facts in 'metadata'"
    ]


def test_csv_rows_report_their_physical_start_line(tmp_path: Path) -> None:
    text = (
        "id,prompt,reference,scorer,scorer_options\n"  # line 1
        'q1,"a prompt\nover two lines",r,,\n'  # lines 2-3
        "\n"  # line 4, blank
        "q2,p,r,exact,{bad json\n"  # line 5
        'q3,p,"{""a"": }",json_fields,\n'  # line 6
        "q4,p,,,\n"  # line 7: empty reference
        "q5,p,r\n"  # line 8: short row
        "q1,p,r,numeric,\n"  # line 9: duplicate + non-numeric reference
        "q6,p,r,exat,\n"  # line 10
    )
    path = write(tmp_path, "rows.csv", text)
    errors = errors_of(path)
    prefixes = [e.split(": ", 1)[0] for e in errors]
    assert prefixes == [f"{path}:{n}" for n in (5, 6, 7, 8, 9, 9, 10)]
    assert "column 'scorer_options' is not valid JSON" in errors[0]
    assert "column 'reference' starts like JSON but is not valid JSON" in errors[1]
    assert "missing 'reference'" in errors[2]
    assert "5 columns" in errors[3]
    assert "reference for scorer 'numeric' must be a number" in errors[4]
    assert "duplicate id 'q1' (first used on line 2)" in errors[5]
    assert "did you mean 'exact'" in errors[6]


def test_csv_non_numeric_reference_for_numeric_scorer(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "id,prompt,reference,scorer\nq1,p,about ten,numeric\n")
    [error] = errors_of(path)
    assert error.startswith(f"{path}:2: reference for scorer 'numeric' must be a number")


# ---------------------------------------------------------------------------
# The file itself


def test_unknown_extension_names_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "suite.json", "[]")
    with pytest.raises(UsageError, match=r"unsupported suite file type '\.json'; use one of \.jsonl, \.csv"):
        load_file_suite(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such suite file"):
        load_file_suite(tmp_path / "nope.jsonl")


def test_empty_file_has_no_samples(tmp_path: Path) -> None:
    for name, text in (("e.jsonl", "\n\n"), ("e.csv", "id,prompt,reference\n")):
        with pytest.raises(UsageError, match="no samples found"):
            load_file_suite(write(tmp_path, name, text))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"id": "a", "prompt": "café", "reference": "r"}\n'.encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_file_suite(path)
