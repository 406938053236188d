"""Hosts of the same weights are compared in every report as models are: "which host?" like "which model?".

One `evalkit compare` against the scripted server: Qwen3-235B-A22B-Instruct-2507 from
Fireworks (every answer right), OpenRouter (19 of 20) and DeepInfra (12 of 20: significantly
worse, exact McNemar p = 0.008), beside gpt-oss-120b on Groq, which is of no shared family.
Within the family, the verdict is Fireworks for accuracy and OpenRouter for price (cheaper per
task, and not significantly less accurate than Fireworks); DeepInfra, cheaper still, is left
out of "cheap" as it is significantly less accurate. The terminal, the run folder's
report.md, and the HTML, PDF and Markdown decision reports each say so.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.report.families import TITLE
from evalkit.testing.scripted_server import Reply, ScriptedServer

ITEMS = 20
MODELS = [  # id, label, $/M in, $/M out, items answered wrong
    ("fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507", "qwen3-235b (fireworks)", 0.22, 0.88, 0),
    ("openrouter/qwen/qwen3-235b-a22b-2507", "qwen3-235b (openrouter)", 0.20, 0.80, 1),
    ("deepinfra/Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3-235b (deepinfra)", 0.09, 0.55, 8),
    ("groq/openai/gpt-oss-120b", "gpt-oss-120b (groq)", 0.15, 0.60, 0),
]
FAMILY = "Qwen3-235B-A22B-Instruct-2507"


def _script(request):
    item = int(request.prompt.removeprefix("q"))
    wrong = {body_name(model_id): misses for model_id, _, _, _, misses in MODELS}[request.body["model"]]
    return Reply("Answer: 6" if item < wrong else "Answer: 5", prompt_tokens=100, completion_tokens=20)


def body_name(model_id: str) -> str:
    return model_id.split("/", 1)[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("families")
    suite = tmp / "items.jsonl"
    suite.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"q{i}", "reference": 5, "scorer": "numeric"})
                             + "\n" for i in range(ITEMS)), encoding="utf-8")
    with ScriptedServer(_script) as server:
        config = {"models": [{"id": model_id, "label": label, "api_base": server.base_url,
                              "price": {"input": price_in, "output": price_out}}
                             for model_id, label, price_in, price_out, _ in MODELS],
                  "suites": [{"name": "items", "path": str(suite)}], "run": {"retries": 0, "max_tokens": 16}}
        (tmp / "bench.yaml").write_text(json.dumps(config), encoding="utf-8")
        store = f"sqlite:///{tmp}/runs.db"
        compared = CliRunner().invoke(main, ["compare", "-c", str(tmp / "bench.yaml"), "--store", store,
                                             "--results-dir", str(tmp / "results"), "--report", "html",
                                             "--report", "pdf"], terminal_width=200)
    assert compared.exit_code == 0, compared.output
    run_dir = next((tmp / "results").iterdir())
    decision_md = tmp / "decision.md"
    written = CliRunner().invoke(main, ["report", "last", "-f", "md", "-o", str(decision_md), "--store", store])
    assert written.exit_code == 0, written.output
    return {"terminal": compared.output, "dir": run_dir, "md": decision_md.read_text(encoding="utf-8")}


def _family_part(text: str) -> str:
    """From the family section's title to the run's footer (which names every model)."""
    part = text[text.index(TITLE):]
    return part.split("Concurrency (", 1)[0]


def _verdict_within_the_family(lines: str) -> None:
    flat = " ".join(lines.split())
    assert "good: qwen3-235b (fireworks) — 100.0% accuracy" in flat
    assert "cheap: qwen3-235b (openrouter)" in flat
    assert "accuracy not significantly below qwen3-235b (fireworks)" in flat
    assert "gpt-oss-120b" not in flat  # not of the family: compared only as a model


def test_the_terminal_compares_the_hosts_after_the_models(run):
    terminal = run["terminal"]
    part = _family_part(terminal)
    assert f"{TITLE}: {FAMILY}" in " ".join(part.split())
    for host in ("Fireworks AI", "OpenRouter", "DeepInfra"):
        assert host in part
    assert "60.0% [39–78]" in part  # DeepInfra's 12 of 20, in the hosts' own table
    _verdict_within_the_family(part)
    assert terminal.index("good:") < terminal.index(TITLE)  # the run's own verdict first


def test_the_run_folders_report_compares_the_hosts(run):
    text = (run["dir"] / "report.md").read_text(encoding="utf-8")
    assert f"## {TITLE}" in text and f"### {FAMILY}" in text
    assert "| Fireworks AI | fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507 |" in text
    _verdict_within_the_family(_family_part(text).split("\n## ")[0])


def test_the_markdown_and_html_decision_reports_compare_the_hosts(run):
    md = _family_part(run["md"])
    assert f"### {FAMILY}" in md and "Weights: https://huggingface.co/Qwen/Qwen3-235B-A22B-Instruct-2507" in md
    assert "**100.0% [84–100] ▲**" in md.split("\n## ")[0]  # the best host's accuracy is marked
    _verdict_within_the_family(md.split("\n## ")[0])
    html = (run["dir"] / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="same-model,-different-hosts">'):]
    section = section[:section.index("</section>")]
    assert 'id="table-family-0"' in section and "DeepInfra" in section and "OpenRouter" in section
    _verdict_within_the_family(re.sub(r"<[^>]+>", " ", section))


def test_the_pdf_compares_the_hosts(run):
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(str(run["dir"] / "report.pdf")).pages)
    squashed = re.sub(r"\s+", "", text)
    part = squashed[squashed.index("Samemodel,differenthosts"):]
    assert FAMILY in part and "FireworksAI" in part and "DeepInfra" in part
    assert "good:qwen3-235b(fireworks)—100.0%accuracy" in part
    assert "cheap:qwen3-235b(openrouter)" in part


def test_a_run_without_two_hosts_of_one_family_has_no_such_section(tmp_path):
    from evalkit.analysis.run_analysis import analyse_run
    from evalkit.report.families import host_comparisons
    from evalkit.store.database import Store
    from evalkit.testing.synthetic_run import make_run, model_lineup

    store = Store(f"sqlite:///{tmp_path / 'history.db'}")
    run_id = make_run(store, tmp_path / "suites", model_lineup(12), 2, 5)  # 12 providers' models, no two alike
    assert host_comparisons(analyse_run(store, run_id)) == []


def test_one_endpoints_model_under_two_labels_is_not_two_hosts(tmp_path):
    """The same model id at the same endpoint twice (say, with thinking on and off) is one
    host: no host comparison; the same id at two endpoints (two servers of yours) is two."""
    from evalkit.analysis.run_analysis import analyse_run
    from evalkit.report.families import host_comparisons
    from evalkit.store.database import Store
    from evalkit.testing.synthetic_run import make_run

    def comparisons(name, second_base):
        from evalkit.config.models import ModelConfig

        models = [ModelConfig(id="hosted_vllm/Qwen/Qwen3-235B-A22B-Instruct-2507", label="a",
                              api_base="http://gpu-1:8000/v1", price={"input": 0.1, "output": 0.4}),
                  ModelConfig(id="hosted_vllm/Qwen/Qwen3-235B-A22B-Instruct-2507", label="b",
                              api_base=second_base, price={"input": 0.1, "output": 0.4})]
        store = Store(f"sqlite:///{tmp_path / name}.db")
        return host_comparisons(analyse_run(store, make_run(store, tmp_path / name, models, 1, 4)))

    assert comparisons("same", "http://gpu-1:8000/v1") == []
    (two,) = comparisons("two", "http://gpu-2:8000/v1")
    assert two.family.name == FAMILY and sorted(two.models) == ["a", "b"]
