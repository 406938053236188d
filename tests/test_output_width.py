"""Every table and line the CLI prints at 80 columns, at 200 and piped: no model name, number
or run id is cut, no line is wider than an 80-column terminal, and piped output is never
wrapped or cut.

The CLI runs as a real process: on a pseudo-terminal of a given size (as a person sees
it), or with its output to a pipe (a CI log, ``| cat``). Long model labels (CJK, an
OpenRouter id) and a long tag are in every run.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from evalkit.analysis.run_analysis import analyse_run
from evalkit.config.models import ModelConfig
from evalkit.console import fit
from evalkit.report.tables import scorecard_rows
from evalkit.store.database import Store
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.testing.slots import SlottedScript
from evalkit.testing.synthetic_run import make_run, model_lineup

LONG_ID = "openrouter/qwen/qwen3-235b-a22b-2507"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
RUNS = ("20261128-120000-test", "20261129-093000-nightly-candidate-long-run-id")


def run_cli(args: list[str], terminal: int | None = None, columns: int | None = None, cwd: Path | None = None,
            timeout: float = 120) -> str:
    """``evalkit ARGS`` as a process: on a pseudo-terminal ``terminal`` columns wide, else
    with stdout to a pipe; COLUMNS set only when ``columns`` is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", TERM="xterm-256color")
    if columns is not None:
        env["COLUMNS"] = str(columns)
    command = [sys.executable, "-m", "evalkit", *args]
    if terminal is None:
        done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL,
                              env=env, cwd=cwd, timeout=timeout, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, terminal, 0, 0))
    process = subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=timeout) == 0, process.stderr.read().decode()
    return ANSI.sub("", b"".join(chunks).decode("utf-8").replace("\r\n", "\n"))


def widest(text: str) -> int:
    return max(cell_len(line) for line in text.splitlines())


def assert_whole(output: str, values) -> None:
    """Each value appears unbroken (a value split over two lines or cut by "…" is not found)."""
    missing = [v for v in values if v not in output]
    assert not missing, f"not whole in the output: {missing}\n{output}"
    assert "…" not in output, output


def rows_on_one_line(output: str, rows: list[list[str]]) -> None:
    """Every row's cells on a single line, in order: the table was neither wrapped nor split."""
    lines = output.splitlines()
    for row in rows:
        pattern = re.compile(r".*".join(re.escape(cell) for cell in row))
        assert any(pattern.search(line) for line in lines), f"row not on one line: {row}\n{output}"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A store with two finished synthetic runs of five models with long labels."""
    directory = tmp_path_factory.mktemp("width")
    store = Store(str(directory / "history.db"))
    models = model_lineup(4) + [ModelConfig(id=LONG_ID, price={"input": 0.2, "output": 0.8})]
    for seed, run_id in enumerate(RUNS):
        make_run(store, directory / "suites", models, suites=2, items=20, seed=seed, run_id=run_id)
    return directory / "history.db"


def figures(store_path: Path, run_id: str) -> tuple[list[list[str]], list[list[str]]]:
    """The scorecard's cells per model, and per model and suite, as the analysis computes them."""
    analysis = analyse_run(Store(str(store_path)), run_id)
    by_suite = analysis.summary.by_model_suite
    suite_rows = [[str(s), *cells] for s, cells in zip(by_suite["suite"], scorecard_rows(by_suite))]
    return scorecard_rows(analysis.summary.by_model), suite_rows


def test_show_at_80_columns_keeps_every_name_and_figure_whole(history):
    output = run_cli(["show", RUNS[1], "--by-suite", "--store", str(history)], terminal=80)
    rows, suite_rows = figures(history, RUNS[1])
    assert_whole(output, [cell for row in rows + suite_rows for cell in row] + [RUNS[1], LONG_ID])
    assert widest(output) <= 80, output
    assert "good: " in output and "best value: " in output


def test_show_at_200_columns_is_one_table_with_a_row_per_model(history):
    output = run_cli(["show", RUNS[1], "--by-suite", "--store", str(history)], terminal=200)
    rows, suite_rows = figures(history, RUNS[1])
    rows_on_one_line(output, rows + suite_rows)
    assert widest(output) <= 200
    assert "…" not in output


def test_piped_show_is_never_wrapped_or_cut(history):
    output = run_cli(["show", RUNS[1], "--by-suite", "--store", str(history)])
    rows, suite_rows = figures(history, RUNS[1])
    rows_on_one_line(output, rows + suite_rows)
    assert "…" not in output
    # the verdict sentences stay one line each, for grep
    assert sum(line.startswith(("good:", "fast:", "cheap:", "best value:", "frontier")) for line in
               output.splitlines()) == 6, output
    assert all(not line.startswith("  ") for line in output.splitlines() if "frontier" in line or "dominated" in line)


def test_piped_with_columns_set_respects_the_width(history):
    output = run_cli(["show", RUNS[0], "--store", str(history)], columns=80)
    rows, _ = figures(history, RUNS[0])
    assert_whole(output, [cell for row in rows for cell in row])
    assert widest(output) <= 80, output


@pytest.mark.parametrize("terminal", [80, None], ids=["80-columns", "piped"])
def test_runs_lists_every_run_id_whole(history, terminal):
    output = run_cli(["runs", "--store", str(history)], terminal=terminal)
    names = [m.display for m in model_lineup(4)] + [LONG_ID]
    assert_whole(output, [*RUNS, *names, "suite-0", "中文套件-1"])
    if terminal:
        assert widest(output) <= terminal, output
    else:
        rows_on_one_line(output, [[run_id, "finished", "200", ", ".join(names)] for run_id in RUNS])


def test_history_at_80_columns_keeps_figures_and_run_ids_whole(history, tmp_path):
    output = run_cli(["history", "--by-run", "--store", str(history), "--chart", str(tmp_path / "h.svg")],
                     terminal=80)
    rows, _suite_rows = figures(history, RUNS[1])
    accuracy = [row[2] for row in rows]  # the latest run's accuracy per model, with its interval
    assert_whole(output, [*RUNS, LONG_ID, *accuracy, *(m.display for m in model_lineup(4))])
    assert widest(output) <= 80, output


@pytest.mark.parametrize("command", [["models"], ["suites"],
                                     ["estimate", "-m", LONG_ID, "-m", "openai/gpt-4o-mini", "-s", "arithmetic",
                                      "--limit", "3"]], ids=["models", "suites", "estimate"])
def test_catalogs_and_estimate_fit_80_columns(command):
    narrow = run_cli(command, terminal=80)
    assert widest(narrow) <= 80, narrow
    assert LONG_ID in narrow or command == ["suites"]
    piped = run_cli(command)
    if command[0] == "models":  # a model's prices on its own line when nothing needs to wrap
        rows_on_one_line(piped, [["openai/gpt-4.1-mini", "$0.400", "$1.600", "$0.100"]])
        assert_whole(narrow, ["openai/gpt-4.1-mini", "$0.400", "$1.600", "$0.100", "unknown"])
    if command[0] == "suites":  # each name whole; the only "…" are the long sample prompts shortened on purpose
        from evalkit.suites.registry import builtin_suites

        samples = [suite.generate(1, 1234)[0] for suite in builtin_suites().values()]
        shown = [p if len(p) <= 240 else p[:239] + "…" for p in (sample.prompt_text for sample in samples)]
        for output in (narrow, piped):
            assert all(name in output for name in builtin_suites()), output
            assert output.count("…") == sum(p.count("…") for p in shown), output
            assert all(f"→ {sample.reference!r}" in output for sample in samples
                       if isinstance(sample.reference, int)), output
    if command[0] == "estimate":
        assert "price unknown" in piped
        assert_whole(narrow, [LONG_ID, "openai/gpt-4o-mini", "All models"])


SECRET = "sk-" "width-0123456789abcdefghijklmnop"
STRONG = "月之暗面 Kimi-K2 长上下文版 (scripted strong)"
WEAK = "openrouter/qwen/qwen3-235b-a22b-2507-weak-baseline"


@pytest.fixture
def scripted_config(tmp_path):
    suite = tmp_path / "math.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"{i}+{i}?", "reference": 2 * i, "scorer": "numeric"} for i in range(6)]
    suite.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")

    def answer(request):
        number = int(request.prompt.split("+")[0])
        right = request.body["model"] == "strong" or number % 2 == 0
        return Reply(f"Answer: {2 * number if right else 0}", ttft=0.01, prompt_tokens=123, completion_tokens=17)

    with ScriptedServer(answer, api_key=SECRET) as server:
        config = tmp_path / "bench.yaml"
        config.write_text(f"""
models:
  - {{id: openai/strong, label: "{STRONG}", api_base: "{server.base_url}", api_key_env: WIDTH_KEY,
     price: {{input: 1.25, output: 10.0}}}}
  - {{id: openai/weak, label: "{WEAK}", api_base: "{server.base_url}", api_key_env: WIDTH_KEY,
     price: {{input: 0.15, output: 0.6}}}}
suites:
  - {{name: arithmetic-with-a-long-suite-label, path: {suite.name}}}
""", encoding="utf-8")
        yield config


def test_compare_against_the_scripted_server_at_80_columns(tmp_path, scripted_config, monkeypatch):
    monkeypatch.setenv("WIDTH_KEY", SECRET)
    store = tmp_path / "history.db"
    tag = "nightly-regression-check-with-a-long-tag"
    output = run_cli(["compare", "-c", str(scripted_config), "--store", str(store), "--results-dir",
                      str(tmp_path / "results"), "-q", "--tag", tag, "--by-suite"], terminal=80, cwd=tmp_path)
    (run,) = Store(str(store)).runs(5)
    rows, suite_rows = figures(store, run.run_id)
    assert_whole(output, [cell for row in rows + suite_rows for cell in row] + [run.run_id, STRONG, WEAK])
    assert widest(output) <= 80, output
    # relative: a path wider than the terminal is one word, printed whole for the terminal to wrap
    listing = run_cli(["runs", "--store", store.name], terminal=80, cwd=tmp_path)
    assert_whole(listing, [run.run_id, tag, STRONG, WEAK, run.config_hash])
    assert widest(listing) <= 80, listing
    piped = run_cli(["runs", "--store", str(store)])
    rows_on_one_line(piped, [[run.run_id, "finished", tag, "12", f"{STRONG}, {WEAK}", run.config_hash]])


def test_capacity_and_breakeven_fit_80_columns(tmp_path):
    # one slot: at c=2 a request waits a whole service time (0.14 s) before its first token
    reply = Reply(" ".join(f"w{i}" for i in range(10)), ttft=0.05, token_delay=0.01, prompt_tokens=200,
                  completion_tokens=10)
    with ScriptedServer(SlottedScript(reply, 1)) as server:
        sweep = run_cli(["capacity", "-m", "openai/scripted-capacity-model-with-a-long-name", "--api-base",
                         server.base_url, "--hourly-cost", "2.5", "--slo-ttft-p95", "0.1s", "--max-concurrency",
                         "2", "--step-seconds", "1.5", "--warmup-seconds", "0.2", "--results-dir", "."],
                        terminal=80, cwd=tmp_path)
    assert widest(sweep) <= 80, sweep
    assert "BROKEN" in sweep and "TTFT p95 0." in sweep, sweep
    (saved,) = tmp_path.glob("capacity-*.json")
    assert_whole(sweep, [saved.stem.removeprefix("capacity-")])
    args = ["breakeven", str(saved), "-m", "openai/gpt-4o-mini", "-m", LONG_ID, "--volume", "50000/day"]
    narrow, piped = run_cli(args, terminal=80), run_cli(args)
    assert widest(narrow) <= 80, narrow
    for line in piped.splitlines():
        if "openai/gpt-4o-mini" in line:  # one line per option when piped, its figures whole
            cells = [c.strip() for c in line.split("│") if c.strip()]
            assert_whole(narrow, cells[:3])
            assert len(cells) == 4, piped


# --- the layout itself, at every width ----------------------------------------------------------


def render(item, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    fit.show(console, item)
    return out.getvalue()


def sample_grid() -> fit.Grid:
    columns = [fit.Column("Model"), fit.Column("n", right=True), fit.Column("Accuracy [95% CI]", right=True),
               fit.Column("Suites", wrap=fit.ITEMS), fit.Column("$ / correct", right=True),
               fit.Column("Note", wrap=fit.TEXT)]
    grid = fit.Grid("evalkit run 20261128-120000-test (finished)", columns)
    grid.add_row(LONG_ID, "1200", "85.0% [74–92]", ("suite-0", "中文套件-1"), "$0.000118",
                 "reasoning model: wide range of answer lengths")
    grid.add_row("月之暗面 Kimi-K2 长上下文版", "60", "78.3% [66–87]", ("suite-0",), "unknown", "")
    grid.add_row("[bold]not markup[/bold]", "7", "–", (), "$12,345.67", "")
    return grid


@pytest.mark.parametrize("width", [24, 32, 40, 48, 60, 72, 80, 100, 120, 160, 200])
def test_a_grid_never_cuts_a_figure_at_any_width(width):
    output = render(sample_grid(), width)
    values = [LONG_ID, "1200", "85.0% [74–92]", "$0.000118", "月之暗面 Kimi-K2 长上下文版", "78.3% [66–87]",
               "unknown", "[bold]not markup[/bold]", "$12,345.67", "suite-0", "中文套件-1",
               "20261128-120000-test"]
    assert_whole(output, values)
    # only a value wider than the whole line may be: here the 36-cell model id
    assert widest(output) <= max(width, cell_len(LONG_ID) + 2), output


def test_a_wide_enough_grid_is_one_table_and_a_narrow_one_splits_repeating_the_key():
    wide = render(sample_grid(), 200)
    rows_on_one_line(wide, [[LONG_ID, "1200", "85.0% [74–92]", "suite-0, 中文套件-1", "$0.000118"]])
    narrow = render(sample_grid(), 70)
    parts = narrow.count("┃ Model")
    assert parts > 1 and narrow.count(LONG_ID) == parts, narrow  # the model in each part
    stacked = render(sample_grid(), 36)  # narrower than the model id and one column: a block per model
    assert "\n  Accuracy [95% CI]: 85.0% [74–92]\n" in stacked and "Note:" in stacked and "┃" not in stacked
    assert stacked.count("Note:") == 1  # a blank cell is left out


def test_wrap_breaks_between_words_never_inside_a_name():
    name = "月之暗面 Kimi-K2 长上下文版"
    lines = fit.wrap(f"fast: {name} — 3.08 s median end-to-end, accuracy not below {name}", 30, (name,), "  ")
    assert all(cell_len(line) <= 30 or name in line for line in lines)
    assert sum(name in line for line in lines) == 2 and lines[1].startswith("  ")
    assert fit.wrap("Sample: 2+2?\n→ 4", 80, indent="    ") == ["Sample: 2+2?", "    → 4"]


def test_console_is_as_wide_as_needed_when_piped(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert fit.console().width == fit.PIPE_WIDTH  # pytest's stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "91")
    assert fit.console().width == 91
