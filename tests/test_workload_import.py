"""`evalkit workload import` at the CLI seam: log files in, a profile in a real store out.

Every format round-trips from the generated log; the figures are checked by hand on small
files (percentiles, cache-hit share, hour shares, rate); every kind of bad input names its
file and line and stores nothing; redaction is pinned on realistic strings.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from evalkit.cli import LOG_FORMATS, main
from evalkit.store.database import Store
from evalkit.testing.workload_log import FORMATS, SYSTEM_PROMPT, generate_log, write_log
from evalkit.workload import tokens
from evalkit.workload.formats import FORMATS as READ_FORMATS
from evalkit.workload.importer import read_workload
from evalkit.workload.profile import WorkloadProfile
from evalkit.workload.redact import redact

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc).timestamp()


def import_cli(*args):
    return CliRunner().invoke(main, ["workload", "import", *map(str, args)])


def stored(store_path, name) -> tuple[WorkloadProfile, list[dict] | None]:
    row = Store(str(store_path)).workload(name)
    return WorkloadProfile.from_dict(row.profile), row.sample


def write_jsonl(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def nothing_stored(store_path) -> bool:
    return not store_path.exists() or not Store(str(store_path)).workloads()


@pytest.fixture(scope="module")
def log_entries():
    return generate_log(n=120, seed=3)


# --- every format, from the generated log ---


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips_through_the_cli(fmt, log_entries, tmp_path, store_path):
    path = write_log(tmp_path / f"traffic.{'csv' if fmt == 'csv' else 'jsonl'}", log_entries, fmt)
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 0, result.output
    profile, sample = stored(store_path, "traffic")
    assert profile.format == fmt and profile.source == str(path)
    assert profile.prompt_tokens == [e["prompt_tokens"] for e in log_entries]
    assert profile.completion_tokens == [e["completion_tokens"] for e in log_entries]
    assert profile.cached_tokens == [e["cached_tokens"] for e in log_entries]
    assert profile.token_source == "logged usage" and profile.cache_hit_source == "logged cached tokens"
    assert profile.cache_hit_estimate == pytest.approx(
        sum(e["cached_tokens"] for e in log_entries) / sum(e["prompt_tokens"] for e in log_entries))
    times = [e["timestamp"] for e in log_entries]
    assert profile.requests_per_month == pytest.approx((len(times) - 1) / (max(times) - min(times)) * 30 * 86400,
                                                       rel=1e-6)
    hours = Counter(datetime.fromtimestamp(t, timezone.utc).hour for t in times)
    assert profile.requests_per_hour == pytest.approx([hours[h] / len(times) for h in range(24)])
    prefix = "openai/" if fmt == "openrouter" else ""
    assert profile.logged_models == {prefix + m: n for m, n in Counter(e["model"] for e in log_entries).items()}
    assert sample is None and not profile.has_text
    if fmt in ("openai-jsonl", "litellm"):  # the formats that log text
        languages = Counter(e["language"] for e in log_entries)
        assert profile.languages == pytest.approx({k: v / len(log_entries) for k, v in languages.items()})
    else:
        assert profile.languages == {}
    assert f"Requests: {len(log_entries):,}" in result.output and f"Stored as 'traffic' in sqlite:///{store_path}" \
        in result.output


@pytest.mark.parametrize("fmt", ["openai-jsonl", "litellm"])
def test_kept_text_is_the_logged_text_in_the_sample_format(fmt, log_entries, tmp_path, store_path):
    path = write_log(tmp_path / "t.jsonl", log_entries, fmt)
    result = import_cli(path, "--store", store_path, "--keep-text", "--name", "rag")
    assert result.exit_code == 0, result.output
    assert "may hold personal data" in result.stderr and "add --redact" in result.stderr
    profile, sample = stored(store_path, "rag")
    assert profile.has_text and not profile.redacted
    keys = ("messages", "response", "model", "prompt_tokens", "completion_tokens", "language")
    assert sample == [{key: e[key] for key in keys} for e in log_entries]


def test_the_generated_log_is_consistent_with_its_text():
    entries = generate_log(n=300, seed=5, chinese_share=0.5)
    assert entries == generate_log(n=300, seed=5, chinese_share=0.5)
    assert all(e["prompt_tokens"] == tokens.count_messages(e["messages"]) for e in entries)
    assert all(e["completion_tokens"] == tokens.count_text(e["response"]) for e in entries)
    assert all(e["cached_tokens"] % 128 == 0 and e["cached_tokens"] <= e["prompt_tokens"] for e in entries)
    assert all(e["messages"][0]["content"] == SYSTEM_PROMPT for e in entries)
    assert 0.4 < sum(e["language"] == "zh" for e in entries) / len(entries) < 0.6
    times = [e["timestamp"] for e in entries]
    assert times == sorted(times) and times[-1] - times[0] < 3 * 86400
    assert sum(e["cached_tokens"] for e in entries) > 0


def test_the_cli_offers_the_formats_the_importer_reads():
    assert ["auto", *READ_FORMATS] == LOG_FORMATS and set(FORMATS) == set(READ_FORMATS)


# --- figures by hand ---


def test_small_openai_log_figures_by_hand(tmp_path, store_path):
    # Two nestings and both time spellings: 100/200/300/400 prompt tokens with 0/100/150/200
    # cached; at 10:00, 10:30 and 14:00 UTC on day 1 and 10:00 on day 2.
    def usage(prompt, completion, cached):
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "prompt_tokens_details": {"cached_tokens": cached}}

    lines = [
        {"timestamp": T0, "request": {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "a"}]},
         "response": {"choices": [{"message": {"role": "assistant", "content": "x"}}], "usage": usage(100, 10, 0)}},
        {"messages": [{"role": "user", "content": "b"}], "model": "gpt-4.1-mini", "created": int(T0 + 1800),
         "usage": usage(200, 20, 100)},
        {"custom_id": "r3", "timestamp": "2026-11-02T14:00:00Z",
         "response": {"status_code": 200, "body": {"model": "gpt-4.1", "usage": usage(300, 30, 150)}}},
        {"messages": [{"role": "user", "content": "d"}], "model": "gpt-4.1-mini", "timestamp": "2026-11-03T10:00:00",
         "usage": usage(400, 40, 200)},
    ]
    result = import_cli(write_jsonl(tmp_path / "small.jsonl", lines), "--store", store_path)
    assert result.exit_code == 0, result.output
    profile, _ = stored(store_path, "small")
    assert profile.prompt_tokens == [100, 200, 300, 400] and profile.cached_tokens == [0, 100, 150, 200]
    assert profile.cache_hit_estimate == pytest.approx(450 / 1000)
    assert profile.requests_per_month == pytest.approx(3 / 86400 * 30 * 86400)  # 3 gaps in one day: 90
    assert profile.requests_per_hour[10] == 0.75 and profile.requests_per_hour[14] == 0.25
    assert profile.logged_models == {"gpt-4.1-mini": 3, "gpt-4.1": 1}
    # Linear percentiles: rank (4 - 1) * 0.5 = 1.5 -> 250; rank 2.7 -> 370; rank 2.97 -> 397.
    assert "Prompt tokens: p50 250, p90 370, p99 397, mean 250" in result.output
    assert "Completion tokens: p50 25, p90 37, p99 40, mean 25" in result.output
    assert "Cache-hit estimate: 45.0% of prompt tokens (logged cached tokens)" in result.output
    assert "Rate: 90 requests per month (30 days), from 2026-11-02 10:00 UTC to 2026-11-03 10:00 UTC" \
        in result.output
    assert "Busiest hours (UTC): 10:00 75.0%, 14:00 25.0%" in result.output
    assert "Incumbent model: gpt-4.1-mini (75.0% of requests); also gpt-4.1 25.0%" in result.output


def test_text_without_usage_is_counted_offline_and_repeated_prefixes_estimate_the_cache(tmp_path, store_path):
    system = {"role": "system", "content": "hello world"}
    first, second = {"role": "user", "content": "hello world"}, {"role": "user", "content": "goodbye"}
    lines = [{"messages": [system, first]}, {"messages": [system, second]}, {"messages": [system, first]}]
    result = import_cli(write_jsonl(tmp_path / "text.jsonl", lines), "--store", store_path)
    assert result.exit_code == 0, result.output
    profile, _ = stored(store_path, "text")
    # o200k: "hello world" is 2 tokens, "system" and "user" 1 each; a message is 3 + role + text.
    system_tokens, first_tokens = 3 + 1 + 2, 3 + 1 + 2
    second_tokens = tokens.count_message(second)
    assert profile.prompt_tokens == [system_tokens + first_tokens + 3, system_tokens + second_tokens + 3,
                                     system_tokens + first_tokens + 3] == [15, 15, 15]
    assert profile.completion_tokens == [0, 0, 0]
    assert profile.token_source == "estimated: tiktoken o200k_base"
    assert profile.cache_hit_source == "repeated message prefixes"
    # The 2nd repeats the system message, the 3rd the whole of the 1st (both messages).
    assert profile.cache_hit_estimate == pytest.approx((6 + 6 + 6) / 45)
    assert profile.requests_per_month is None and profile.languages == {"en": 1.0}
    assert "Rate: unknown" in result.output and "Token source: estimated: tiktoken o200k_base" in result.output


def test_languages_follow_the_cjk_share_of_the_users_text(tmp_path, store_path):
    english_system = {"role": "system", "content": "You are a helpful assistant for our shop."}
    texts = ["我的订单什么时候到？", "Where is my order?", "小米 phone 的保修期是多久",
             "When does the iPhone 小米 ship?"]
    lines = [{"messages": [english_system, {"role": "user", "content": text}],
              "usage": {"prompt_tokens": 50, "completion_tokens": 5}} for text in texts]
    assert import_cli(write_jsonl(tmp_path / "lang.jsonl", lines), "--store", store_path).exit_code == 0
    assert stored(store_path, "lang")[0].languages == {"zh": 0.5, "en": 0.5}


def test_a_large_log_keeps_a_seeded_uniform_sample_and_counts_every_line(log_entries, tmp_path):
    numbered = [{**e, "prompt_tokens": 5000 + i, "cached_tokens": 0} for i, e in enumerate(log_entries)]
    path = write_log(tmp_path / "big.jsonl", numbered, "openai-jsonl")  # a request's count is its position
    imported = read_workload(path, limit=30)
    again = read_workload(path, limit=30)
    profile = imported.profile
    assert profile.requests == 30 and profile.requests_logged == len(log_entries)
    assert profile.prompt_tokens == again.profile.prompt_tokens  # seeded: an import is repeatable
    positions = [p - 5000 for p in profile.prompt_tokens]
    assert positions == sorted(positions) and positions[-1] >= 30  # in log order, not just the first 30
    times = [e["timestamp"] for e in log_entries]
    assert profile.requests_per_month == pytest.approx((len(times) - 1) / (max(times) - min(times)) * 30 * 86400,
                                                       rel=1e-6)
    assert sum(profile.logged_models.values()) == len(log_entries)


def test_litellm_failures_are_skipped_and_said(log_entries, tmp_path, store_path):
    path = write_log(tmp_path / "ll.jsonl", log_entries[:3], "litellm")
    failure = {"status": "failure", "startTime": T0, "model": "gpt-4.1-mini", "prompt_tokens": 0,
               "completion_tokens": 0, "messages": [], "response": None, "error_str": "rate limited"}
    path.write_text(path.read_text(encoding="utf-8") + json.dumps(failure) + "\n", encoding="utf-8")
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 0, result.output
    assert stored(store_path, "ll")[0].requests == 3 and "Skipped: 1 logged failures" in result.output


def test_openrouter_camel_case_and_data_wrapper(tmp_path, store_path):
    lines = [{"data": {"createdAt": "2026-11-02T10:00:00+00:00", "model": "qwen/qwen3-235b", "tokensPrompt": 90,
                       "tokensCompletion": 9, "nativeTokensPrompt": 100, "nativeTokensCompletion": 10,
                       "nativeTokensCached": 40}}]
    assert import_cli(write_jsonl(tmp_path / "or.jsonl", lines), "--store", store_path).exit_code == 0
    profile, _ = stored(store_path, "or")
    assert (profile.format, profile.prompt_tokens, profile.completion_tokens, profile.cached_tokens) == \
        ("openrouter", [100], [10], [40])


def test_list_show_and_delete(log_entries, tmp_path, store_path):
    path = write_log(tmp_path / "traffic.csv", log_entries, "csv")
    assert import_cli(path, "--store", store_path, "--name", "support").exit_code == 0
    runner = CliRunner()
    listed = runner.invoke(main, ["workload", "list", "--store", str(store_path)])
    assert listed.exit_code == 0 and "support" in listed.output and "csv" in listed.output
    shown = runner.invoke(main, ["workload", "show", "support", "--store", str(store_path)])
    assert shown.exit_code == 0 and "Workload profile 'support' (csv" in shown.output
    deleted = runner.invoke(main, ["workload", "delete", "support", "--store", str(store_path)])
    assert deleted.exit_code == 0 and nothing_stored(store_path)
    missing = runner.invoke(main, ["workload", "show", "support", "--store", str(store_path)])
    assert missing.exit_code == 2 and "no workload profile 'support'" in missing.stderr


# --- bad input: file, line, field, fix; exit 2; nothing stored ---


GOOD = {"messages": [{"role": "user", "content": "hi"}], "usage": {"prompt_tokens": 5, "completion_tokens": 1},
        "created": T0}


@pytest.mark.parametrize("lines, line, expected", [
    ([GOOD, "{not json"], 2, "not JSON"),
    ([GOOD, GOOD, {"model": "gpt-4.1", "response": {"choices": []}, "created": T0}], 3, "no usage and no messages"),
    ([GOOD, {**GOOD, "usage": {"prompt_tokens": -5, "completion_tokens": 1}}], 2,
     "usage.prompt_tokens: negative count -5 (token counts are 0 or more)"),
    ([{**GOOD, "created": "yesterday"}], 1, "created: 'yesterday' is not a time (give unix seconds or ISO 8601"),
    ([GOOD, {**GOOD, "usage": {"prompt_tokens": 5}}], 2, "usage.completion_tokens: missing"),
    ([GOOD, {**GOOD, "usage": {"prompt_tokens": 5, "completion_tokens": 1,
                               "prompt_tokens_details": {"cached_tokens": 9}}}], 2,
     "9 cached tokens is more than the 5 prompt tokens"),
    ([GOOD, {k: v for k, v in GOOD.items() if k != "created"}], 2, "no timestamp, while 1 other lines have one"),
    ([GOOD, [1, 2]], 2, "a JSON list, not an object"),
])
def test_bad_lines_name_file_line_and_field_and_store_nothing(lines, line, expected, tmp_path, store_path):
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 2
    assert f"{path}:{line}: " in result.stderr and expected in result.stderr, result.stderr
    assert nothing_stored(store_path)


def test_a_bad_line_keeps_the_profile_already_stored_under_that_name(log_entries, tmp_path, store_path):
    good = write_log(tmp_path / "good.jsonl", log_entries, "openai-jsonl")
    assert import_cli(good, "--store", store_path, "--name", "prod").exit_code == 0
    bad = write_jsonl(tmp_path / "bad.jsonl", [GOOD] * 50 + [{**GOOD, "created": -1}])
    result = import_cli(bad, "--store", store_path, "--name", "prod")
    assert result.exit_code == 2 and f"{bad}:51: created: -1 is not a time" in result.stderr
    assert stored(store_path, "prod")[0].requests == len(log_entries)


def test_every_bad_line_is_listed_in_one_report(tmp_path, store_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, "nope", GOOD, "{", GOOD])
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 2 and "2 bad line(s)" in result.stderr
    assert f"{path}:2:" in result.stderr and f"{path}:4:" in result.stderr


def test_empty_file(tmp_path, store_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 2 and f"{path}: empty: no requests" in result.stderr and nothing_stored(store_path)


def test_a_file_of_no_known_format_says_which_were_tried(tmp_path, store_path):
    path = write_jsonl(tmp_path / "other.jsonl", [{"event": "login", "user": "x"}])
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 2 and f"{path}:1: not a log format evalkit reads" in result.stderr
    assert all(name in result.stderr for name in ("litellm (", "openrouter (", "openai-jsonl (", "csv ("))
    assert nothing_stored(store_path)


@pytest.mark.parametrize("header, missing", [("timestamp,prompt_tokens,cached_tokens", "completion_tokens"),
                                             ("time,tokens_in,tokens_out", "prompt_tokens")])
def test_csv_missing_a_required_column_names_it(header, missing, tmp_path, store_path):
    path = tmp_path / "t.csv"
    path.write_text(header + "\n2026-11-02T10:00:00Z,5,1\n", encoding="utf-8")
    result = import_cli(path, "--store", store_path, "--format", "csv")
    assert result.exit_code == 2 and f"{path}:1: the CSV header has no {missing!r} column" in result.stderr
    assert nothing_stored(store_path)


def test_csv_rows_are_checked_by_line(tmp_path, store_path):
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([["timestamp", "prompt_tokens", "completion_tokens", "cached_tokens"],
                          ["2026-11-02T10:00:00Z", "100", "10", ""], ["1793613600", "-3", "10", ""],
                          ["2026-11-02T11:00:00Z", "12.5", "10", "0"], ["2026-13-02", "1", "1", ""]])
    result = import_cli(path, "--store", store_path)
    assert result.exit_code == 2
    assert f"{path}:3: prompt_tokens: negative count '-3'" in result.stderr
    assert f"{path}:4: prompt_tokens: '12.5' is not a whole number" in result.stderr
    assert f"{path}:5: timestamp: '2026-13-02' is not a time" in result.stderr
    assert nothing_stored(store_path)


def test_a_csv_by_hand(tmp_path, store_path):
    path = tmp_path / "t.csv"
    path.write_text("Timestamp, Prompt_Tokens ,completion_tokens,model\n"
                    "2026-11-02T10:00:00Z,1000,100,m\n1793617200,3000,300,m\n", encoding="utf-8")
    assert import_cli(path, "--store", store_path).exit_code == 0
    profile, _ = stored(store_path, "t")
    assert profile.prompt_tokens == [1000, 3000] and profile.cached_tokens is None
    assert profile.cache_hit_estimate is None and profile.requests_per_month == pytest.approx(30 * 24)


def test_redact_needs_keep_text(tmp_path, store_path):
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD])
    result = import_cli(path, "--store", store_path, "--redact")
    assert result.exit_code == 2 and "add --keep-text" in result.stderr and nothing_stored(store_path)


# --- redaction ---


@pytest.mark.parametrize("text, expected", [
    ("请拨打 138 0013 8000 联系我", "请拨打 [phone] 联系我"),
    ("我的手机号是13800138000，谢谢", "我的手机号是[phone]，谢谢"),
    ("客服电话 +86 138-0013-8000 或 (+86) 139 1234 5678", "客服电话 [phone] 或 [phone]"),
    ("座机 010-8888 6666，上海 (021) 12345678", "座机 [phone]，上海 [phone]"),
    ("Call me on +1 (415) 555-2671 or 415.555.2671.", "Call me on [phone] or [phone]."),
    ("UK office +44 20 7946 0958, from the UK 020 7946 0958", "UK office [phone], from the UK [phone]"),
    ("Berlin +49 30 1234567, Paris 06 12 34 56 78", "Berlin [phone], Paris [phone]"),
    ("Write to jane.doe+orders@example.co.uk or 张伟@公司 li.wei@corp.cn", "Write to [email] or 张伟@公司 [email]"),
    ("card 4111 1111 1111 1111 exp 12/27, cvv 123", "card [number] exp 12/27, cvv 123"),
    ("Amex 3782 822463 10005 and 4111-1111-1111-1111", "Amex [number] and [number]"),
    ("IBAN DE89 3704 0044 0532 0130 00 or GB29NWBK60161331926819", "IBAN [number] or [number]"),
    ("身份证号 11010519491231002X 已核验", "身份证号 [number] 已核验"),
    ("account 000123456789, order #123456789", "account [number], order #[number]"),
    ("Order 12345678 placed 2026-11-02 14:05:00 for $1,234.56 (v1.2.3, 192.168.1.10, 3.14159)",
     "Order 12345678 placed 2026-11-02 14:05:00 for $1,234.56 (v1.2.3, 192.168.1.10, 3.14159)"),
    ("在2024年3月15日下单，金额¥12,800，共3件", "在2024年3月15日下单，金额¥12,800，共3件"),
])
def test_redaction_of_realistic_strings(text, expected):
    assert redact(text) == expected


def test_redacted_text_is_what_the_store_holds(tmp_path, store_path):
    pii = "I'm Jane, jane@example.com, 138 0013 8000, card 4111 1111 1111 1111"
    lines = [{"messages": [{"role": "user", "content": pii}],
              "response": {"choices": [{"message": {"content": "Call +44 20 7946 0958"}}],
                           "usage": {"prompt_tokens": 30, "completion_tokens": 8}}, "created": T0}]
    path = write_jsonl(tmp_path / "pii.jsonl", lines)
    result = import_cli(path, "--store", store_path, "--keep-text", "--redact")
    assert result.exit_code == 0, result.output
    assert "may hold personal data" in result.stderr and "add --redact" not in result.stderr
    assert "Redacted: 1 [email], 1 [number], 2 [phone]" in result.output
    profile, sample = stored(store_path, "pii")
    assert profile.redacted and sample is not None
    assert sample[0]["messages"][0]["content"] == "I'm Jane, [email], [phone], card [number]"
    assert sample[0]["response"] == "Call [phone]"
    raw = store_path.read_bytes()
    assert b"jane@example.com" not in raw and b"4111" not in raw and b"8000" not in raw


def test_binary_and_non_utf8_lines_are_named_and_a_bom_is_not(tmp_path, store_path):
    good = json.dumps(GOOD).encode()
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + good + b"\n")
    assert import_cli(bom, "--store", store_path).exit_code == 0
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(good + b"\n" + good.replace(b'"hi"', b'"caf\xe9"') + b"\n")
    result = import_cli(latin1, "--store", store_path)
    assert result.exit_code == 2 and f"{latin1}:2: not UTF-8 text" in result.stderr
    gzipped = tmp_path / "log.jsonl.gz"
    gzipped.write_bytes(b"\x1f\x8b\x08\x00\x00\x00")
    result = import_cli(gzipped, "--store", store_path)
    assert result.exit_code == 2 and f"{gzipped}:1: binary data" in result.stderr
    assert [row.name for row in Store(str(store_path)).workloads()] == ["bom"]


def test_a_format_given_by_hand_reports_what_the_lines_lack(log_entries, tmp_path, store_path):
    path = write_log(tmp_path / "t.jsonl", log_entries[:2], "openai-jsonl")
    result = import_cli(path, "--store", store_path, "--format", "openrouter")
    assert result.exit_code == 2 and f"{path}:1: native_tokens_prompt: missing" in result.stderr
    assert nothing_stored(store_path)


def test_a_profile_and_its_text_round_trip_through_either_store(any_store_url, log_entries, tmp_path):
    path = write_log(tmp_path / "t.jsonl", log_entries[:20], "litellm")
    result = import_cli(path, "--store", any_store_url, "--keep-text", "--redact", "--name", "pg")
    assert result.exit_code == 0, result.output
    row = Store(any_store_url).workload("pg")
    assert WorkloadProfile.from_dict(row.profile).prompt_tokens == [e["prompt_tokens"] for e in log_entries[:20]]
    assert row.sample is not None and [s["language"] for s in row.sample] == [e["language"] for e in log_entries[:20]]
