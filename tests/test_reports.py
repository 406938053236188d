"""Decision reports: the PDF, HTML and Markdown say the same things, open, and hold their layout.

Runs are synthetic (`evalkit.testing.synthetic_run`): 2 and 12 models, long and Chinese
model names, Chinese suites, and a reply that tries to inject `<script>`.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.config.models import validate_config
from evalkit.economics.volume import parse_volume
from evalkit.errors import UsageError
from evalkit.report.content import SECTIONS
from evalkit.report.facts import facts_rows, lookup_model
from evalkit.report.formats import write_reports
from evalkit.store.database import Store
from evalkit.testing.synthetic_run import INJECTION, make_run, model_lineup

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _build(tmp_path_factory, name: str, models: int, suites: int, items: int):
    directory = tmp_path_factory.mktemp(name)
    store = Store(f"sqlite:///{directory / 'history.db'}")
    run_id = make_run(store, directory / "suites", model_lineup(models), suites, items)
    analysis = analyse_run(store, run_id)
    paths = write_reports(analysis, ["html", "pdf", "md"], directory / "out", "50000/day")
    return {"store": store, "dir": directory, "analysis": analysis, "run_id": run_id,
            **{p.suffix.lstrip("."): p for p in paths}}


@pytest.fixture(scope="module")
def twelve(tmp_path_factory):
    return _build(tmp_path_factory, "twelve", models=12, suites=6, items=8)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return _build(tmp_path_factory, "two", models=2, suites=2, items=15)


def _pdf_text(path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("case", ["two", "twelve"])
def test_pdf_text_has_verdict_every_model_and_section(case, request):
    run = request.getfixturevalue(case)
    pages = _pdf_text(run["pdf"])
    text = _squash("".join(pages))
    first = _squash(pages[0])
    verdict = run["analysis"].verdict
    assert "Executivesummary" in first and "Good:" in first
    assert _squash(f"{verdict.good.model} is the most accurate model") in first
    for role in ("Cheap:", "Fast:", "Bestvalue:"):
        assert role in first
    for model in run["analysis"].summary.by_model["model"]:
        assert _squash(model) in text, model
    for section in SECTIONS:
        assert _squash(section) in text, section
    assert "Self-hostingvsAPIs" not in text  # no capacity-priced model, no such section
    assert "page1of" in _squash(pages[0]) and f"page{len(pages)}of{len(pages)}" in _squash(pages[-1])
    assert "通义千问" in text and "中文套件" in text  # Chinese is text, not boxes or gaps


def test_pdf_states_indistinguishable_caveat(tmp_path):
    # two nearly equal models: the cheaper one must carry the "indistinguishable from" caveat
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    models = model_lineup(2, long_names=False)
    run_id = make_run(store, tmp_path / "s", models, 1, 12, seed=3)
    analysis = analyse_run(store, run_id)
    from evalkit.report.content import executive_summary

    summary = " ".join(executive_summary(analysis))
    assert ("indistinguishable from" in summary) or ("significantly" in summary)


def test_pdf_embeds_the_cjk_font_and_renders(twelve, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(str(twelve["pdf"]))
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            fonts.add((str(font["/BaseFont"]), descriptor is not None and "/FontFile2" in descriptor.get_object()))
    assert any("evalkit-CJK-400" in name and embedded for name, embedded in fonts), fonts
    # reportlab lists Helvetica (a standard PDF font) on every page whether used or not
    assert all(embedded for name, embedded in fonts if name != "/Helvetica"), fonts

    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(twelve["pdf"]))
    for index in range(len(pdf)):
        image = pdf[index].render(scale=0.6).to_pil().convert("L")
        assert image.getextrema()[0] < 100, f"page {index + 1} is blank"
        image.save(tmp_path / f"page-{index + 1}.png")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (Debian poppler-utils) is not installed")
def test_pdf_opens_in_poppler(two, tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(two["pdf"]), str(tmp_path / "p")], check=True, timeout=60)
    assert len(list(tmp_path.glob("p-*.png"))) == len(_pdf_text(two["pdf"]))


@pytest.mark.parametrize("case", ["two", "twelve"])
def test_pdf_layout_stays_inside_the_page(case, request):
    """Nothing is drawn in the side margins: long names and wide tables wrap instead."""
    import pypdfium2 as pdfium

    run = request.getfixturevalue(case)
    pdf = pdfium.PdfDocument(str(run["pdf"]))
    assert len(pdf) <= (12 if case == "two" else 30)
    for index in range(len(pdf)):
        image = pdf[index].render(scale=1).to_pil().convert("L")
        width, height = image.size
        for strip in ((0, 0, 30, height), (width - 30, 0, width, height)):
            assert image.crop(strip).getextrema()[0] > 200, f"{case}: page {index + 1} draws into the margin"


def _pdf_lines(path) -> list[str]:
    """Every extracted line of the PDF, no-break spaces read as spaces."""
    return [line.replace("\u00a0", " ").strip() for page in _pdf_text(path) for line in page.splitlines()]


def test_pdf_cells_never_break_inside_a_number_or_a_word(twelve):
    """12 long model names, 8-item suites (intervals such as "100.0% [68–100]") and headers
    such as "Open weights" in narrow columns: each number, interval, name and header word
    comes out whole on one line (CJK line breaking gave "83.3% [76–8" / "9]", "Open weig" / "hts")."""
    lines = _pdf_lines(twelve["pdf"])
    words = {w for line in lines for w in line.split()}
    intervals = [line for line in lines if re.fullmatch(r"\d+\.\d% \[\d+–\d+\]( ▲)?", line)]
    assert len(intervals) >= 12 + 12 * 6  # the scorecard and every per-suite row
    assert not [line for line in lines if re.search(r"\[\d*(–\d*)?$", line) or re.match(r"^\d*\]", line)]
    for header in ("Open weights", "Accuracy [95% CI]", "Speed p50", "$ / correct", "Jurisdiction", "Price source"):
        assert all(word in words for word in header.split()), header
    assert "weig" not in words and "hts" not in words
    for model in twelve["analysis"].summary.by_model["model"]:
        if model.isascii():  # a Chinese name may wrap between its characters
            assert model in lines, model
    assert not [line for line in lines if re.fullmatch(r"(ms|s|tok/s|tokens)( ▲)?", line)]  # a unit alone


def test_pdf_cell_wrapping_keeps_numbers_and_words_whole():
    """At the seam: the table's cells, wrapped into narrow columns, hold only whole words."""
    from reportlab.lib.pagesizes import A4

    from evalkit.report.content import Table
    from evalkit.report.fonts import subset_fonts
    from evalkit.report.formats import pdf

    headers = ["Model", "Open weights", "Accuracy [95% CI]", "E2E p95", "$ / 1k tasks", "Context"]
    rows = [["claude-sonnet-4-5-evaluation-candidate-9", "yes", "83.3% [76–89]", "12.53 s", "≈$0.00083",
             "1,047,576 tokens"],
            ["通义千问-Plus（阿里云）", "unknown", "100.0% [100–100]", "1.65 s", "$0.15", "unknown"]]
    table = Table(headers, rows, best={(0, 2)})
    regular, bold = pdf._register(subset_fonts("".join(headers + [c for r in rows for c in r])))
    flowable = pdf._table(table, 300, pdf._styles(regular, bold), first_col=0.1)
    flowable.wrap(300, A4[1])
    for r, row in enumerate(flowable._cellvalues):
        for c, cell in enumerate(row):
            text = (headers if r == 0 else rows[r - 1])[c]
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                continue  # Chinese wraps between characters by design
            (paragraph,) = cell
            kept = [w.replace("\u00a0", " ") for line in paragraph.blPara.lines for w in line[1]]
            assert all(w.rstrip(" ▲") in text for w in kept), (text, kept)
            assert " ".join(kept).replace(" ▲", "") == text, (text, kept)
            if r > 0 and re.search(r"\d", text):  # a figure with its unit or interval is one piece
                assert len(paragraph.blPara.lines) == 1, (text, kept)
    assert sum(flowable._colWidths) == pytest.approx(300)


def test_html_is_self_contained_and_escapes_model_output(twelve):
    html = twelve["html"].read_text(encoding="utf-8")
    assert INJECTION not in html
    assert "&lt;script&gt;window.__evalkit_injected" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the report must not load anything"
    assert "<link" not in html and "@import" not in html
    assert html.count("<svg") == 5 and "font/ttf;base64," in html
    for section in SECTIONS:
        assert section in html
    assert 'class="item"' in html and 'id="filter-model"' in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_in_headless_chromium(twelve, tmp_path):
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=3000", "--dump-dom", twelve["html"].as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<svg") == 5
    for table in ("table-scorecard", "table-facts", "table-monthly", "table-prices"):
        assert f'id="{table}"' in dom
    # our own inline script ran (it filled in the count) ...
    assert re.search(r'id="filter-count">\d+ of \d+ items shown<', dom)
    # ... and the injected one did not: it would have retitled the page and left no escaped text
    assert "<title>pwned</title>" not in dom and "Which model to buy" in dom.split("</title>")[0]
    assert "&lt;script&gt;window.__evalkit_injected" in dom


def test_markdown_has_the_same_sections_and_chart_files(twelve):
    text = twelve["md"].read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f"## {section}" in text
    charts = twelve["md"].with_name("report-charts")
    assert sorted(p.name for p in charts.iterdir()) == sorted(
        ["cost.svg", "latency.svg", "distributions.svg", "heatmap.svg", "monthly.svg"])
    # prompts sit in code fences, shown literally; everywhere else model text is escaped
    outside_fences = re.sub(r"~~~text\n.*?\n~~~", "", text, flags=re.S)
    assert INJECTION not in outside_fences and "&lt;script&gt;" in outside_fences
    assert twelve["analysis"].verdict.good.model in text


@pytest.mark.parametrize("text, amount, unit", [
    ("50000/day", 1_500_000, "requests"), ("1.5M/month", 1_500_000, "requests"),
    ("2M-tokens/month", 2_000_000, "tokens"), ("300k tokens/day", 9_000_000, "tokens"),
    ("10,000/day", 300_000, "requests"),
])
def test_volume_parses(text, amount, unit):
    volume = parse_volume(text)
    assert volume.amount == pytest.approx(amount) and volume.unit == unit


@pytest.mark.parametrize("text", ["50000", "fast/day", "-5/day", "0/day", "2M-tokens/week"])
def test_bad_volume_is_a_clear_error(text):
    with pytest.raises(UsageError, match="--volume"):
        parse_volume(text)


def test_monthly_cost_follows_the_volume(twelve):
    from evalkit.economics.volume import monthly_costs

    by_model = twelve["analysis"].summary.by_model
    per_request = monthly_costs(by_model, parse_volume("1000/day"), {})
    row = by_model.iloc[0]
    assert per_request[0]["monthly"] == pytest.approx(row["cost_total"] / row["n"] * 30_000)
    per_token = monthly_costs(by_model, parse_volume("1M-tokens/month"), {})
    tokens = row["prompt_tokens"] + row["completion_tokens"]
    assert per_token[0]["monthly"] == pytest.approx(row["cost_total"] / tokens * 1e6)
    floored = monthly_costs(by_model, parse_volume("1/day"), {row["model"]: 1.0})
    assert floored[0]["monthly"] == pytest.approx(730.0) and floored[0]["note"]


def test_shipped_facts_cover_the_main_families_with_sources():
    for model_id in ("dashscope/qwen-plus", "openrouter/qwen/qwen3-235b-a22b-2507", "deepseek/deepseek-chat",
                     "moonshot/kimi-k2-0905-preview", "zai/glm-4.6", "openai/gpt-4.1-mini",
                     "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash"):
        entry = lookup_model(model_id)
        assert entry and entry["source"].startswith("https://"), model_id
    assert lookup_model("dashscope/qwen-plus")["open_weights"] is False
    assert lookup_model("openrouter/qwen/qwen3-235b-a22b-2507")["licence"] == "Apache-2.0"
    assert lookup_model("example/never-heard-of-it") == {}


def test_config_facts_override_the_file_and_unknown_stays_unknown(twelve):
    run = twelve["analysis"].run
    config = dict(run.config)
    config["models"] = [dict(config["models"][0], facts={"licence": "Our negotiated licence", "jurisdiction": "EU"}),
                        dict(config["models"][1], id="example/never-heard-of-it")]
    rows = facts_rows(type(run)(**{**run.__dict__, "config": config}))
    assert rows[0].licence == "Our negotiated licence" and rows[0].jurisdiction == "EU"
    assert rows[0].developer.startswith("Alibaba")  # not overridden: from the shipped file
    assert rows[1].licence == "unknown" and rows[1].open_weights == "unknown"
    with pytest.raises(UsageError, match=r"facts\.licnce"):
        validate_config({"models": [{"id": "openai/gpt-4o", "facts": {"licnce": "MIT"}}]})


def test_facts_do_not_change_the_config_hash():
    plain = validate_config({"models": [{"id": "openai/gpt-4o"}]})
    with_facts = validate_config({"models": [{"id": "openai/gpt-4o", "facts": {"licence": "x"}}]})
    assert plain.config_hash() == with_facts.config_hash()


def test_cli_report_writes_any_stored_run(twelve, tmp_path):
    store = twelve["store"].url
    out = tmp_path / "review.html"
    result = CliRunner().invoke(main, ["report", twelve["run_id"][:8], "--format", "html", "-o", str(out),
                                       "--store", store, "--volume", "2M-tokens/month"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "2M tokens/month" in out.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "last", "-f", "md", "--results-dir", str(tmp_path / "r"),
                                       "--store", store])
    assert result.exit_code == 0 and (tmp_path / "r" / twelve["run_id"] / "report.md").is_file()
    bad = CliRunner().invoke(main, ["report", "last", "--store", store, "--volume", "lots"])
    assert bad.exit_code == 2 and "--volume" in bad.output


def test_report_of_a_single_format_to_a_file_needs_one_format(twelve, tmp_path):
    with pytest.raises(UsageError, match="exactly one"):
        write_reports(twelve["analysis"], ["html", "pdf"], tmp_path, None, output=tmp_path / "x.html")


def test_chart_styles_are_stable_per_model():
    from evalkit.report.charts import model_styles

    a = model_styles(["b", "a", "c"])
    b = model_styles(["c", "a", "b"])
    assert a == b and len({(s.color, s.marker) for s in a.values()}) == 3


def test_compare_writes_the_reports_it_is_asked_for(tmp_path, monkeypatch):
    from evalkit.testing.scripted_server import Reply, ScriptedServer

    suite = tmp_path / "items.jsonl"
    suite.write_text('{"id": "a", "prompt": "2+2?", "reference": 4, "scorer": "numeric"}\n'
                     '{"id": "b", "prompt": "3*3?", "reference": 9, "scorer": "numeric"}\n', encoding="utf-8")

    def answer(request):
        return Reply("Answer: 4" if request.body["model"] == "a" else "<script>x()</script> Answer: 9",
                     ttft=0.01, prompt_tokens=50, completion_tokens=5)

    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-test")
    with ScriptedServer(answer, api_key="sk-test") as server:
        config = tmp_path / "bench.yaml"
        config.write_text("models:\n" + "".join(
            f"  - {{id: openai/{m}, label: {m}, api_base: '{server.base_url}', api_key_env: EVALKIT_TEST_KEY,"
            f" price: {{input: 1.0, output: 2.0}}}}\n" for m in ("a", "b"))
            + f"suites:\n  - {{name: items, path: {suite}}}\n",
            encoding="utf-8")
        args = ["compare", "-c", str(config), "--store", str(tmp_path / "h.db"), "--results-dir",
                str(tmp_path / "results"), "-q", "--report", "html", "--report", "pdf", "--volume", "1000/day"]
        bad = CliRunner().invoke(main, args[:-1] + ["lots"])
        assert bad.exit_code == 2 and not (tmp_path / "results").exists()  # failed before any call
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "results").iterdir()
    assert (run_dir / "report.html").is_file() and (run_dir / "report.pdf").is_file()
    assert "&lt;script&gt;x()" in (run_dir / "report.html").read_text(encoding="utf-8")
