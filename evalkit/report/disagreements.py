"""The items the models disagree on, with every model's answer, held as Arrow columns.

A large run has a hundred thousand such items and a million answers. They are kept as two
tables: one row per item (suite, id, prompt, reference, as shown) and one row per answer
(its item's position, model, score, extracted value and answer text, as shown), the answers
grouped by item and, within one, most accurate model first. The formats build their text
from these columns with pyarrow.compute kernels (`evalkit.report.arrow_text`); a few items
become `Disagreement` objects for the PDF's sample and for tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from evalkit.analysis.run_analysis import RunAnalysis

DISAGREEMENT_SPREAD = 0.5
"""An item is a disagreement when its best and worst model scores differ by at least this."""
ANSWER_CHARS = 1500
"""Longest answer or prompt shown in full; longer ones are cut with a note."""
CHUNK_ANSWERS = 50_000
"""Answers worked on at once: the temporary copies of their texts stay small."""

_NO_PROMPT = "(prompt not available: the suite could not be re-read)"
_NO_REFERENCE = "(not available)"
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
"""What `str.strip()` removes: every character for which `str.isspace` is true (a test
holds the two equal)."""


@dataclass(slots=True)
class Answer:
    model: str
    score: float
    extracted: str
    response: str


@dataclass
class Disagreement:
    """One item as Python objects (the PDF's sample, tests)."""

    suite: str
    sample_id: str
    prompt: str
    reference: str
    answers: list[Answer]


class Disagreements:
    """The disagreements as columns; iterating gives `Disagreement` objects, one at a time."""

    def __init__(self, items: Any = None, answers: Any = None) -> None:
        import numpy as np
        import pyarrow as pa

        text = pa.large_string()
        self.items = items if items is not None else pa.table(
            {name: pa.array([], text) for name in ("suite", "sample_id", "prompt", "reference")})
        """One row per item: suite, sample_id, prompt and reference (cut as shown)."""
        self.answers = answers if answers is not None else pa.table(
            {"item": pa.array([], pa.int64()), "model": pa.array([], text).dictionary_encode(),
             "score": pa.array([], pa.float64()), "extracted": pa.array([], text).dictionary_encode(),
             "response": pa.array([], text)})
        """One row per answer, grouped by item in order: item (its row in `items`), model,
        score, extracted and response (the answer text as shown: cut, a failed call said so)."""
        counts = np.bincount(self.answers.column("item").to_numpy(), minlength=self.items.num_rows)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        """Item i's answers are rows ``offsets[i]`` to ``offsets[i + 1]`` of `answers`."""

    def __len__(self) -> int:
        return self.items.num_rows

    def __iter__(self) -> Iterator[Disagreement]:
        return (self.item(i) for i in range(len(self)))

    def item(self, index: int) -> Disagreement:
        row = {name: self.items.column(name)[index].as_py() for name in self.items.column_names}
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        part = self.answers.slice(start, end - start).to_pydict()
        answers = [Answer(m, s, e, r) for m, s, e, r in
                   zip(part["model"], part["score"], part["extracted"], part["response"])]
        return Disagreement(row["suite"], row["sample_id"], row["prompt"], row["reference"], answers)

    def suites(self) -> list[str]:
        """The suites with a disagreement, sorted."""
        return sorted(self.items.column("suite").unique().to_pylist())

    def chunks(self, answers: int = CHUNK_ANSWERS) -> Iterator[tuple[Any, Any, Any]]:
        """Whole items, about ``answers`` answers at a time: (items, their answers, offsets
        of each item's answers in that slice)."""
        import numpy as np

        start, count = 0, len(self)
        while start < count:
            end = int(np.searchsorted(self.offsets, self.offsets[start] + answers, side="right")) - 1
            end = min(max(end, start + 1), count)
            first, last = int(self.offsets[start]), int(self.offsets[end])
            yield (self.items.slice(start, end - start), self.answers.slice(first, last - first),
                   self.offsets[start:end + 1] - first)
            start = end

    def characters(self) -> set[str]:
        """Every character of every text shown, from the columns."""
        import pyarrow as pa

        from evalkit.report.arrow_text import characters

        seen: set[str] = set()
        for table in (self.items, self.answers):
            for name in table.column_names:
                if name in ("item", "score"):
                    continue
                for chunk in table.column(name).chunks:  # a dictionary holds just the values used
                    seen |= characters(chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk.unique())
        return seen

    def texts(self) -> Iterator[str]:
        """Every text shown, item by item (slow: for tests and small runs)."""
        for item in self:
            yield from (item.suite, item.sample_id, item.prompt, item.reference)
            yield from (t for a in item.answers for t in (a.model, a.extracted, a.response))


def find_disagreements(analysis: RunAnalysis, samples: dict | None = None) -> tuple[Disagreements, str]:
    """Items where one model scored well and another badly, with every model's answer."""
    records = analysis.records
    if records.empty or records["model"].nunique() < 2:
        return Disagreements(), "Only one model: nothing to disagree on."
    frame = records[["model", "suite", "sample_id", "epoch", "score", "error_class", "response_text", "extracted"]]
    # records from before tool calls were kept (or a frame built without them) made none
    frame = frame.assign(tool_calls=records.get("tool_calls"))
    frame = frame.assign(extracted=_code_outcomes(records, frame["extracted"]))
    frame = frame.assign(score=frame["score"].where(frame["error_class"].isna(), 0.0).fillna(0.0))
    key = ["suite", "sample_id", "epoch"]
    grouped = frame.groupby(key, sort=False)["score"]
    split = (grouped.transform("max") - grouped.transform("min")) >= DISAGREEMENT_SPREAD
    order = {m: i for i, m in enumerate(analysis.summary.by_model["model"])}
    samples = shown_samples(analysis.run.config, analysis.store_url) if samples is None else samples
    disagreements = _gathered(frame, split, order, samples)
    note = (f"{len(disagreements):,} of {grouped.ngroups:,} items split the models (one scored at least "
            f"{DISAGREEMENT_SPREAD:g} higher than another). Texts longer than {ANSWER_CHARS:,} characters are cut.")
    return disagreements, note


def _gathered(frame: Any, split: Any, order: dict, samples: dict) -> Disagreements:
    """The split records of ``frame`` as `Disagreements`: grouped by item, most accurate
    model first within one."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    key = ["suite", "sample_id", "epoch"]
    # Sort the split records' keys alone, then take the answers' columns in that order:
    # the texts are never copied into a sorted frame.
    positions = np.flatnonzero(split.to_numpy())
    keys = frame[[*key, "model"]].iloc[positions]
    rank = pd.Index(list(order)).get_indexer(keys["model"])  # a hash lookup, not a Python call per answer
    keys = keys.assign(_rank=np.where(rank < 0, len(order), rank), _at=positions)
    keys = keys.sort_values([*key, "_rank"], kind="stable")
    starts = (keys[key] != keys[key].shift()).any(axis=1).to_numpy()
    item = np.cumsum(starts) - 1
    first = keys.iloc[np.flatnonzero(starts)]
    items = _items(first["suite"].tolist(), first["sample_id"].tolist(), samples)
    answers = _answers(frame, keys["_at"].to_numpy())
    return Disagreements(items, answers.append_column("item", pa.array(item, pa.int64())))


def _items(suites: list, sample_ids: list, samples: dict) -> Any:
    """One row per item: a Python loop over items (not answers), each sample's prompt cut once."""
    import pyarrow as pa

    shown: dict[tuple[str, str], tuple[str, str]] = {}
    prompts, references = [], []
    for suite, sample_id in zip(suites, sample_ids):
        at = (str(suite), str(sample_id))
        if at not in shown:
            sample = samples.get(at)
            shown[at] = ((_cut(sample.prompt_text), _cut(_reference(sample.reference))) if sample
                         else (_NO_PROMPT, _NO_REFERENCE))
        prompts.append(shown[at][0])
        references.append(shown[at][1])
    text = pa.large_string()
    return pa.table({"suite": pa.array([str(s) for s in suites], text),
                     "sample_id": pa.array([str(s) for s in sample_ids], text),
                     "prompt": pa.array(prompts, text), "reference": pa.array(references, text)})


def _answers(frame: Any, positions: Any) -> Any:
    """The answers at ``positions`` of ``frame``, in that order, made a chunk at a time and
    kept as those chunks (joining them would copy every text once more). Model names and
    extracted values repeat: they are dictionary-encoded."""
    import pyarrow as pa

    from evalkit.report.arrow_text import as_text

    names = ("model", "score", "extracted", "error_class", "response_text", "tool_calls")
    columns = {name: _arrow(frame[name]) for name in names}
    parts = []
    for start in range(0, len(positions), CHUNK_ANSWERS):
        at = pa.array(positions[start:start + CHUNK_ANSWERS], pa.int64())
        taken = {name: _one(column.take(at)) for name, column in columns.items()}
        parts.append(pa.table({
            "model": as_text(taken["model"]).dictionary_encode(), "score": taken["score"].cast(pa.float64()),
            "extracted": as_text(taken["extracted"]).dictionary_encode(),
            "response": _answer_texts(taken["error_class"], taken["response_text"], taken["tool_calls"])}))
    if not parts:
        return Disagreements().answers.drop_columns(["item"])
    return pa.concat_tables(parts)


def _arrow(column: Any) -> Any:
    """A frame column as Arrow (a string column as it is stored, its chunks and all: no copy)."""
    import pyarrow as pa

    values = pa.array(column, from_pandas=True)
    return values.cast(pa.large_string()) if pa.types.is_null(values.type) else values


def _one(values: Any) -> Any:
    """One array of a chunked array (a chunk's worth of rows: a small copy)."""
    import pyarrow as pa

    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _answer_texts(error_class: Any, response_text: Any, tool_calls: Any) -> Any:
    """`_answer_text` of each row, column-wise; rows with tool calls (rare, and JSON to
    read) go through it one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from evalkit.report.arrow_text import as_text, join

    text = _cut_texts(pc.utf8_trim(as_text(response_text), characters=WHITESPACE))
    failed = error_class.is_valid()
    if pc.any(failed).as_py():
        text = pc.if_else(failed, join("(call failed: ", as_text(error_class), ")"), text)
    called = pc.and_(pc.invert(failed), tool_calls.is_valid())
    if pc.any(called).as_py():
        rows = np.flatnonzero(called.to_numpy(zero_copy_only=False))
        pick = pa.array(rows, pa.int64())
        shown = [_answer_text(None, r, c) for r, c in
                 zip(response_text.take(pick).to_pylist(), tool_calls.take(pick).to_pylist())]
        text = pc.replace_with_mask(text, called, pa.array(shown, pa.large_string()))
    return text


def _cut_texts(texts: Any) -> Any:
    """`_cut` of each text, column-wise."""
    import pyarrow.compute as pc

    from evalkit.report.arrow_text import join

    length = pc.utf8_length(texts)
    long = pc.greater(length, ANSWER_CHARS)
    if not pc.any(long).as_py():
        return texts
    more = pc.subtract(length, ANSWER_CHARS).to_numpy()
    cut = join(pc.utf8_slice_codeunits(texts, 0, ANSWER_CHARS), "… (", _thousands(more), " more characters)")
    return pc.if_else(long, cut, texts)


def _thousands(values: Any) -> Any:
    """``f"{n:,}"`` of each non-negative integer, column-wise."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from evalkit.report.arrow_text import join

    values = np.asarray(values, dtype=np.int64)
    plain = pa.array(values).cast(pa.large_string())
    big = values >= 1000
    if not big.any():
        return plain
    low = pc.utf8_lpad(pa.array(values % 1000).cast(pa.large_string()), width=3, padding="0")
    return pc.if_else(pa.array(big), join(_thousands(values // 1000), ",", low), plain)


def _code_outcomes(records: Any, extracted: Any) -> Any:
    """For an item whose tests ran, what they said (the failing test's output, or that
    they passed) instead of the extracted code, which the answer column already shows."""
    if "tests_s" not in records.columns:
        return extracted
    ran = records["tests_s"].notna()
    detail = records["score_detail"] if "score_detail" in records.columns else None
    outcome = detail.where(detail.notna() & (detail != ""), "tests passed") if detail is not None else "tests ran"
    return extracted.where(~ran, outcome)


class _Shown(NamedTuple):
    """What a report shows of a sample: a suite of 100,000 need not stay as whole samples."""

    prompt_text: str
    reference: Any
    scorer: str


def shown_samples(config: dict, store: str | None = None) -> dict[tuple[str, str], Any]:
    """Prompts, references and scorers, regenerated from the run's suites (they are not
    stored); a suite that can no longer be read has none: its prompts read "not available"."""
    from evalkit.suites import stored_run_samples

    return {(str(sample.suite), str(sample.id)): _Shown(sample.prompt_text, sample.reference, sample.scorer)
            for sample in stored_run_samples(config, store)}


def _answer_text(error_class: Any, response_text: Any, tool_calls: Any = None) -> str:
    if error_class is not None and isinstance(error_class, str):
        return f"(call failed: {error_class})"
    if _missing(tool_calls):  # most replies: the text alone
        return _cut(_text(response_text).strip())
    calls, task = _calls_text(tool_calls)
    text = _text(response_text).strip()
    # a multi-turn task's calls came first, its answer last; a single reply writes text, then calls
    parts = (calls, f"answer: {text}" if text else "") if task else (text, calls)
    return _cut(" ".join(part for part in parts if part))


def _calls_text(tool_calls: Any) -> tuple[str, bool]:
    """The function calls a reply made, as ``name(arguments)`` (in a multi-turn task with
    ``→ result`` each), for the answer column; and whether they are a task's."""
    import json

    text = _text(tool_calls)
    if not text:
        return "", False
    try:
        calls = [call for call in json.loads(text) if isinstance(call, dict)]
    except (ValueError, TypeError):
        return text, False
    task = any("turn" in call for call in calls)
    return "; ".join(f"{call.get('name')}({call.get('arguments') or ''})"
                     + (f" → {call['result']}" if "result" in call else "") for call in calls), task


def _reference(value: Any) -> str:
    import json

    if type(value) is int:  # most references: what json.dumps writes of an int, without its machinery
        return str(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _cut(text: str) -> str:
    if len(text) <= ANSWER_CHARS:
        return text
    return f"{text[:ANSWER_CHARS]}… ({len(text) - ANSWER_CHARS:,} more characters)"


def sample_disagreements(items: Disagreements, count: int) -> list[Disagreement]:
    """Up to ``count`` items, taken round-robin over the suites so each is represented."""
    import numpy as np
    import pyarrow.compute as pc

    suites = items.items.column("suite")
    queues = [list(np.flatnonzero(pc.equal(suites, suite).to_numpy(zero_copy_only=False))[:count])
              for suite in items.suites()]
    picked: list[int] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(int(queue.pop(0)))
    return [items.item(i) for i in picked]
