"""The regression report: terminal lines, a Markdown summary and a JUnit XML file for CI."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from evalkit.analysis.regress import Check, RegressionReport
from evalkit.report.tables import seconds, usd

METRIC_NAMES = {"accuracy": "accuracy", "latency_p95": "E2E p95 latency", "cost": "cost per task"}


def _pts(value: float) -> str:
    return f"{'−' if value < 0 else '+'}{abs(100 * value):.1f} pts"


def _rel(value: float) -> str:
    if math.isinf(value):  # an interval end too few units could not pin down
        return f"{'−' if value < 0 else '+'}∞"
    return f"{'−' if value < 0 else '+'}{abs(100 * value):.1f}%"


def _level(check: Check, value: float) -> str:
    if check.metric == "accuracy":
        return f"{100 * value:.1f}%"
    if check.metric == "latency_p95":
        return seconds(value)
    return usd(value)


def change_text(check: Check) -> str:
    """The change with its 95% interval, e.g. ``−8.0 pts [−11.2, −4.9]``."""
    if check.skipped:
        return "–"
    fmt = _pts if check.metric == "accuracy" else _rel
    return f"{fmt(check.change)} [{fmt(check.low)}, {fmt(check.high)}]"


def threshold_text(check: Check) -> str:
    if check.metric == "accuracy":
        return f"drop ≤ {100 * check.threshold:.1f} pts"
    return f"increase ≤ {100 * check.threshold:.0f}%"


def p_text(check: Check) -> str:
    if check.p_adjusted is None:
        return ""
    fmt = lambda p: "<0.001" if p < 0.001 else f"={p:.3f}"  # noqa: E731
    return f"p{fmt(check.p_value)}, Holm-adjusted p{fmt(check.p_adjusted)}"


def result_text(check: Check) -> str:
    if check.skipped:
        return "skipped"
    return "REGRESSION" if check.regressed else "ok"


def sentence(check: Check) -> str:
    """One line a person reads in a CI log: what got worse, by how much, how sure."""
    metric = METRIC_NAMES[check.metric]
    if check.metric == "cost" and check.cause:
        metric += f" ({check.cause})"
    levels = f"{_level(check, check.baseline)} → {_level(check, check.candidate)}"
    stats = f"{change_text(check).replace(' [', ', 95% CI [')}"
    if check.p_adjusted is not None:
        stats += f", {p_text(check)}"
    extra = f"; {check.note}" if check.note else ""
    return (f"{result_text(check)}: {check.model} / {check.suite}: {metric} {levels} "
            f"({stats}; allowed: {threshold_text(check)}, n={check.n}){extra}")


def terminal_lines(report: RegressionReport) -> list[str]:
    head = (f"Regression check: candidate {report.candidate.run_id} against baseline "
            f"{report.baseline.run_id}")
    lines = [head]
    lines += [f"note: {note}" for note in report.notes]
    lines += [sentence(c) for c in report.checks if c.regressed]
    clean = [c for c in report.checks if not c.regressed and not c.skipped]
    skipped = [c for c in report.checks if c.skipped]
    if report.regressed:
        lines.append(f"{len(report.regressions)} regression(s); {len(clean)} check(s) clean, "
                     f"{len(skipped)} skipped")
    else:
        lines.append(f"No regression: {len(clean)} check(s) clean, {len(skipped)} skipped")
    return lines


def markdown(report: RegressionReport) -> str:
    t = report.thresholds
    verdict = (f"**{len(report.regressions)} regression(s)**" if report.regressed
               else "**No regression**")
    lines = [
        f"# evalkit regression check: {report.candidate.run_id}",
        "",
        f"{verdict} — candidate `{report.candidate.run_id}` against baseline `{report.baseline.run_id}`.",
        "",
        f"Thresholds: accuracy drop ≤ {100 * t.max_accuracy_drop:.1f} pts and significant "
        f"(Holm-adjusted p < {t.alpha}); E2E p95 increase ≤ {100 * t.max_latency_increase:.0f}%; "
        f"cost per task increase ≤ {100 * t.max_cost_increase:.0f}% (latency and cost: only "
        "when the 95% interval lies above 0).",
        "",
    ]
    if report.regressed:
        lines += ["## Regressions", "", *(f"- {sentence(c)}" for c in report.regressions), ""]
    if report.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in report.notes), ""]
    headers = ["Model", "Suite", "Metric", "Baseline", "Candidate", "Change [95% CI]", "p", "Allowed",
               "n", "Result", "Note"]
    lines += ["## All checks", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for c in report.checks:
        metric = METRIC_NAMES[c.metric] + (f" ({c.cause})" if c.cause else "")
        cells = [c.model, c.suite, metric, _cell(c, c.baseline), _cell(c, c.candidate), change_text(c),
                 p_text(c), threshold_text(c), str(c.n), result_text(c), c.note]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def _cell(check: Check, value: float) -> str:
    return "–" if value is None or math.isnan(value) else _level(check, value)


def junit(report: RegressionReport) -> str:
    """One testcase per check; a regression is a failure, a check without data is skipped."""
    suites = ET.Element("testsuites", name="evalkit regress")
    suite = ET.SubElement(
        suites, "testsuite", name=f"evalkit regress {report.candidate.run_id} vs {report.baseline.run_id}",
        tests=str(len(report.checks)), failures=str(len(report.regressions)),
        skipped=str(sum(c.skipped for c in report.checks)), errors="0")
    for c in report.checks:
        case = ET.SubElement(suite, "testcase", classname=f"evalkit.{c.model}.{c.suite}", name=c.metric)
        if c.regressed:
            failure = ET.SubElement(case, "failure", message=sentence(c), type="regression")
            failure.text = sentence(c)
        elif c.skipped:
            ET.SubElement(case, "skipped", message=c.note or "not enough data")
        else:
            ET.SubElement(case, "system-out").text = sentence(c)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write(report: RegressionReport, markdown_path: Path, junit_path: Path) -> None:
    for path, text in ((markdown_path, markdown(report)), (junit_path, junit(report))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
