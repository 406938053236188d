"""The disagreements section, built column-wise, prints exactly what one f-string per answer did.

A synthetic run of two models whose answers are the hard cases: HTML and Markdown
specials, newlines, a text one character too long, Unicode whitespace around Chinese and
emoji, no reply at all, a failed call, a reply with a tool call, a model name with a quote.
The expected text of each item is written out here by hand, as the reports printed it
before the section was built from Arrow columns.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from evalkit.analysis.run_analysis import analyse_run
from evalkit.config.models import ModelConfig, Price
from evalkit.report.formats import write_reports
from evalkit.store.database import Store
from evalkit.store.schema import records_table
from evalkit.testing.synthetic_run import make_run

RIGHT, WRONG = "alpha", 'b"q'
TRICKY = 'a & b < c > "d" \'e\' `f` ~~~ | g\nh'
ANSWERS = {  # sample id -> {model: (response_text, extracted, error_class, tool_calls)}
    "q1": {RIGHT: (TRICKY, "1 & <x>", None, None), WRONG: ("ignored", None, "timeout", None)},
    "q2": {RIGHT: ("x" * 1501, "2", None, None), WRONG: ("  中文😀 \u3000\n", "a|b\nc", None, None)},
    "q3": {RIGHT: (None, "3", None, None),
           WRONG: ("ok", "", None, json.dumps([{"name": "f", "arguments": '{"a": 1}'}]))},
}

HTML_HEAD = ('<div class="item" data-suite="suite-0" data-right="[&quot;alpha&quot;]" '
             'data-wrong="[&quot;b\\&quot;q&quot;]"><p><b>suite-0 · {k}</b></p><p>Prompt:</p>'
             "<pre>Item {n}: what is {n} + 0? Reply with the number.</pre><p>Reference: <code>{n}</code></p>"
             "<table><thead><tr><th>Model</th><th>Score</th><th>Extracted</th><th>Answer</th></tr></thead><tbody>")
HTML_ROWS = {
    "q1": ('<tr class="right"><td>alpha</td><td>1.00</td><td>1 &amp; &lt;x&gt;</td><td><pre>a &amp; b &lt; c &gt; '
           "&quot;d&quot; &#x27;e&#x27; `f` ~~~ | g\nh</pre></td></tr>"
           '<tr class="wrong"><td>b&quot;q</td><td>0.00</td><td></td><td><pre>(call failed: timeout)</pre></td></tr>'),
    "q2": ('<tr class="right"><td>alpha</td><td>1.00</td><td>2</td><td><pre>' + "x" * 1500
           + "… (1 more characters)</pre></td></tr>"
           '<tr class="wrong"><td>b&quot;q</td><td>0.00</td><td>a|b\nc</td><td><pre>中文😀</pre></td></tr>'),
    "q3": ('<tr class="right"><td>alpha</td><td>1.00</td><td>3</td><td><pre></pre></td></tr>'
           '<tr class="wrong"><td>b&quot;q</td><td>0.00</td><td></td>'
           "<td><pre>ok f({&quot;a&quot;: 1})</pre></td></tr>"),
}
MD_HEAD = ("\n### suite-0 · {k}\n\nPrompt:\n\n~~~text\nItem {n}: what is {n} + 0? Reply with the number.\n~~~\n\n"
           "Reference: `{n}`\n\n| Model | Score | Extracted | Answer |\n|---|---|---|---|\n")
MD_ROWS = {
    "q1": ("| alpha | 1.00 | 1 &amp; &lt;x&gt; | a &amp; b &lt; c &gt; \"d\" 'e' `f` ~~~ \\| g<br>h |\n"
           '| b"q | 0.00 |  | (call failed: timeout) |\n'),
    "q2": "| alpha | 1.00 | 2 | " + "x" * 1500 + "… (1 more characters) |\n| b\"q | 0.00 | a\\|b<br>c | 中文😀 |\n",
    "q3": '| alpha | 1.00 | 3 |  |\n| b"q | 0.00 |  | ok f({"a": 1}) |\n',
}


def _models() -> list[ModelConfig]:
    return [ModelConfig(id=f"openai/{label}", label=label, price=Price(input=1, output=2)) for label in (RIGHT, WRONG)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tricky")
    store = Store(f"sqlite:///{directory / 'history.db'}")
    models = _models()
    run_id = make_run(store, directory / "suites", models, 1, 4)
    with store.engine.begin() as conn:
        for row in conn.execute(sa.select(records_table.c.id, records_table.c.model, records_table.c.sample_id)).all():
            response, extracted, error, calls = ANSWERS.get(row.sample_id, {}).get(row.model, ("", "0", None, None))
            conn.execute(records_table.update().where(records_table.c.id == row.id).values(
                score=1.0 if row.model == RIGHT else 0.0, response_text=response, extracted=extracted,
                error_class=error, tool_calls=calls))
    analysis = analyse_run(store, run_id)
    paths = write_reports(analysis, ["html", "md"], directory / "out", "50000/day")
    return {path.suffix: path.read_text(encoding="utf-8") for path in paths}


@pytest.mark.parametrize("sample_id", sorted(ANSWERS))
def test_each_tricky_item_is_the_html_it_always_was(reports, sample_id):
    n = sample_id[1:]
    expected = HTML_HEAD.format(k=sample_id, n=n) + HTML_ROWS[sample_id] + "</tbody></table></div>"
    assert expected in reports[".html"]


@pytest.mark.parametrize("sample_id", sorted(ANSWERS))
def test_each_tricky_item_is_the_markdown_it_always_was(reports, sample_id):
    n = sample_id[1:]
    assert MD_HEAD.format(k=sample_id, n=n) + MD_ROWS[sample_id] in reports[".md"]


def test_the_items_follow_each_other_and_close_the_section(reports):
    html = reports[".html"]
    second = HTML_HEAD.format(k="q2", n="2")
    assert HTML_ROWS["q1"] + "</tbody></table></div>" + second in html
    assert HTML_ROWS["q3"] + "</tbody></table></div></div></section>" in html
    assert reports[".md"].endswith(MD_ROWS["q3"])


def test_a_prompt_with_a_fence_gets_a_longer_one_and_a_reference_loses_its_backticks():
    import pyarrow as pa

    from evalkit.report.disagreements import Disagreements
    from evalkit.report.formats.markdown import _items_markdown

    text = pa.large_string()
    items = pa.table({"suite": pa.array(["s|1 <&>"], text), "sample_id": pa.array(["i"], text),
                      "prompt": pa.array(["a\n~~~\nb"], text), "reference": pa.array(["`r` & <x>"], text)})
    answers = pa.table({"model": pa.array(["m"], text).dictionary_encode(), "score": pa.array([0.25]),
                        "extracted": pa.array([""], text).dictionary_encode(), "response": pa.array(["r"], text),
                        "item": pa.array([0], pa.int64())})
    ((part_items, part_answers, offsets),) = Disagreements(items, answers).chunks()
    (markdown,) = _items_markdown(part_items, part_answers, offsets).to_pylist()
    assert markdown == ("\n### s|1 &lt;&amp;&gt; · i\n\nPrompt:\n\n~~~~text\na\n~~~\nb\n~~~~\n\n"
                        "Reference: `ˋrˋ & <x>`\n\n| Model | Score | Extracted | Answer |\n|---|---|---|---|\n"
                        "| m | 0.25 |  | r |\n")


def test_the_font_covers_every_character_of_the_answers(tmp_path):
    from evalkit.economics.volume import parse_volume
    from evalkit.report.content import build_content
    from evalkit.report.disagreements import Disagreements

    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    models = _models()
    make_run(store, tmp_path / "suites", models, 2, 6)
    content = build_content(analyse_run(store, "last"), parse_volume("50000/day"))
    assert isinstance(content.disagreements, Disagreements) and len(content.disagreements) > 0
    assert content.characters() == "".join(sorted(set(content.all_text())))
    assert {"答", "案", "<", "'"} <= set(content.characters())


def test_the_answers_lose_the_whitespace_str_strip_would_remove():
    from evalkit.report.disagreements import WHITESPACE

    assert "".join(chr(code) for code in range(0x110000) if chr(code).isspace()) == WHITESPACE


def test_the_pdf_sample_takes_the_suites_in_turn_and_makes_objects_of_those_items_alone():
    import pyarrow as pa

    from evalkit.report.disagreements import Disagreements, sample_disagreements

    text = pa.large_string()
    suites = ["b", "a", "a", "c", "a"]
    items = pa.table({"suite": pa.array(suites, text), "sample_id": pa.array([f"i{n}" for n in range(5)], text),
                      "prompt": pa.array(["p"] * 5, text), "reference": pa.array(["r"] * 5, text)})
    answers = pa.table({"model": pa.array(["m", "n"] * 5, text).dictionary_encode(), "score": pa.array([1.0, 0.0] * 5),
                        "extracted": pa.array(["x"] * 10, text).dictionary_encode(),
                        "response": pa.array([f"answer {n}" for n in range(10)], text),
                        "item": pa.array([n // 2 for n in range(10)], pa.int64())})
    picked = sample_disagreements(Disagreements(items, answers), 4)
    assert [item.sample_id for item in picked] == ["i1", "i0", "i3", "i2"]
    first = [(a.model, a.score, a.response) for a in picked[0].answers]
    assert first == [("m", 1.0, "answer 2"), ("n", 0.0, "answer 3")]
