"""Run configuration: pydantic models, YAML loading, and CLI-over-file precedence.

A config names the models to compare, the suites to run and the run options. It comes
from a YAML file (``benchmarks/*.yaml``), from CLI flags, or both: a flag replaces the
file's value. Every validation error names where the value came from: the file, the
line and the field (``bench.yaml:7: models[0].max_concurrency: ...``), or the flag that set
it (``--limit -5: ...``); `Origins` keeps that map, and later checks (model ids, keys,
suites) use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from evalkit import redaction
from evalkit.config import thinking as thinking_switches
from evalkit.errors import UsageError

LOCAL_PREFIX = "local/"
"""Model ids starting with this are served by evalkit itself (the embedded llama.cpp model)."""

LOCAL_MACHINE_HOURLY_USD = 0.10
"""Default price of the machine serving the local models: a small 2-vCPU cloud instance."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Location = Sequence[Any]
"""A field's place in a config, as pydantic gives it: ``("models", 0, "id")``."""


@dataclass
class Origins:
    """Where each part of a config came from, so that a message can point at it."""

    source: str
    """The config file (or ``<options>`` when there is none)."""
    lines: dict[tuple, int] = field(default_factory=dict)
    """1-based line in the file of every field, by location."""
    flags: dict[tuple, str] = field(default_factory=dict)
    """Locations set on the command line, and the flag as given: ``("run", "limit"): "--limit -5"``."""

    def where(self, loc: Location) -> str:
        """``--limit -5``, ``bench.yaml:7: models[0].id``, or ``bench.yaml: models[0].id``."""
        loc = tuple(loc)
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.flags:
                return self.flags[loc[:n]]
        line = next((self.lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in self.lines), None)
        place = f"{self.source}:{line}" if line else self.source
        path = _field_path(loc)
        return f"{place}: {path}" if path else place

    def replaced(self, prefix: tuple, flags: dict[tuple, str]) -> Origins:
        """These origins with everything under ``prefix`` now set by ``flags``."""
        def kept(table: dict) -> dict:
            return {loc: v for loc, v in table.items() if loc[:len(prefix)] != prefix}
        return Origins(self.source, kept(self.lines), {**kept(self.flags), **flags})


class Price(Strict):
    """A price override in US dollars per one million tokens."""

    input: float = Field(ge=0, description="USD per 1M prompt tokens.")
    output: float = Field(ge=0, description="USD per 1M completion tokens.")
    cached_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cached prompt tokens; defaults to input."
    )


class ModelFacts(Strict):
    """Procurement facts about one model, overriding `evalkit/data/model_facts.yaml`.

    Every field is optional: a field left out keeps the shipped fact (or "unknown").
    """

    developer: str | None = Field(default=None, description="Who makes the model.")
    open_weights: bool | None = Field(default=None, description="Whether the weights can be downloaded.")
    licence: str | None = Field(default=None, description="Licence of the weights, or 'proprietary'.")
    api_host: str | None = Field(default=None, description="Who serves the API this run called.")
    jurisdiction: str | None = Field(default=None, description="Where that API is hosted (country or region).")
    context_window: int | None = Field(default=None, ge=1, description="Maximum input tokens.")
    source: str | None = Field(default=None, description="Where these facts come from (URL or document).")
    as_of: str | None = Field(default=None, description="When they were checked (YYYY-MM-DD).")


class ModelConfig(Strict):
    """One candidate model."""

    id: str = Field(description="litellm model id, e.g. deepseek/deepseek-chat, or local/<variant>.")
    label: str | None = Field(default=None, description="Display name; defaults to the id.")
    api_base: str | None = Field(default=None, description="Endpoint URL for self-hosted or proxied models.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the key; the key itself is never stored."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Extra request parameters.")
    structured_output: Literal["prompt", "schema"] = Field(
        default="prompt",
        description="For items scored against a JSON Schema: `prompt` asks for the shape in the prompt "
        "alone; `schema` also sends the provider's structured-output mode (`response_format` with the "
        "item's schema).",
    )
    thinking: str | None = Field(
        default=None, description="on, off or an effort level (low, medium, high, ...): sent in the provider's "
        "own spelling (evalkit/data/thinking.yaml); unset leaves the provider's default.")
    price: Price | None = Field(default=None, description="Overrides the price map.")
    hourly_cost: float | None = Field(
        default=None, ge=0, description="Self-hosted: USD per hour of the serving machine."
    )
    price_from_capacity: str | None = Field(
        default=None, description="Self-hosted: a results/capacity-<id>.json whose derived $/token prices "
        "this model (in a config file, relative to the file's folder).")
    max_concurrency: int = Field(default=8, ge=1, description="Requests in flight at once.")
    requests_per_minute: float | None = Field(default=None, gt=0, description="Rate limit.")
    adaptive_concurrency: bool | None = Field(
        default=None, description="Adapt the requests in flight to the provider's rate limits (429s, "
        "retry-after, x-ratelimit-* headers), up to max_concurrency; unset: on, except for local/ models "
        "and with run.fixed_concurrency.")
    facts: ModelFacts | None = Field(
        default=None, description="Procurement facts for reports; overrides the shipped facts file."
    )

    @property
    def display(self) -> str:
        return self.label or self.id + thinking_switches.label_suffix(self.thinking)

    @property
    def thinking_params(self) -> dict[str, Any]:
        """The request parameters the thinking setting means for this model's provider."""
        return thinking_switches.request_params(self.id, self.thinking) if self.thinking else {}

    @property
    def is_local(self) -> bool:
        return self.id.startswith(LOCAL_PREFIX)

    def adapts_concurrency(self, run: RunOptions) -> bool:
        """Whether the runner adapts this model's concurrency: its own setting, else on for
        every model but a local one (its server has one slot per request in flight)."""
        if self.adaptive_concurrency is not None:
            return self.adaptive_concurrency
        return not (self.is_local or run.fixed_concurrency)

    @model_validator(mode="after")
    def _one_cost_source(self) -> ModelConfig:
        if sum(x is not None for x in (self.price, self.hourly_cost, self.price_from_capacity)) > 1:
            raise ValueError("give either price or hourly_cost or price_from_capacity, not several")
        return self

    @model_validator(mode="after")
    def _local_defaults(self) -> ModelConfig:
        if self.is_local:
            if self.price is None and self.hourly_cost is None and self.price_from_capacity is None:
                self.hourly_cost = LOCAL_MACHINE_HOURLY_USD
            if "max_concurrency" not in self.model_fields_set:
                # One request at a time by default: the local servers of a run share a few
                # cores, and the demo measures the files, not batching. A higher
                # max_concurrency gives the server as many llama.cpp slots, batched together.
                self.max_concurrency = 1
        return self

    @field_validator("api_base")
    @classmethod
    def _no_credentials_in_url(cls, url: str | None) -> str | None:
        # Sent as the clients send userinfo, every call would fail (aiohttp refuses it next to
        # the bearer key; httpx would replace the key): refuse it before any call, and never
        # repeat the URL, whose password the message would print.
        if redaction.has_credentials(url):
            raise ValueError(redaction.CREDENTIALS_IN_URL)
        return url

    @field_validator("thinking", mode="before")
    @classmethod
    def _thinking_known(cls, setting: Any, info: ValidationInfo) -> str | None:
        # Checked here, with the model id, so that a provider without the switch is refused
        # at the field's own line, before any call.
        setting = thinking_switches.normalise(setting)
        model_id = info.data.get("id")
        if setting is not None and isinstance(model_id, str):
            thinking_switches.request_params(model_id, setting)
        return setting

    @model_validator(mode="after")
    def _thinking_not_in_params(self) -> ModelConfig:
        both = sorted(set(self.thinking_params) & set(self.params))
        if both:
            raise ValueError(f"params {both} are what thinking: {self.thinking} sets for {self.id}; "
                             "remove them from params (or remove thinking)")
        return self

    @field_validator("params")
    @classmethod
    def _params_not_owned(cls, params: dict[str, Any]) -> dict[str, Any]:
        owned = {"model", "messages", "stream", "api_key", "api_base"} & set(params)
        if owned:
            raise ValueError(f"evalkit sets {sorted(owned)} itself; remove them from params")
        return params


class JudgeConfig(Strict):
    """The judge of a replay suite: the `judge` scorer's own options, under the same names."""

    judge_model: str = Field(description="litellm id of the judge, e.g. openai/gpt-4.1.")
    rubric: str | None = Field(default=None, description="What the better answer does; default: which "
                               "answer serves the user better (`evalkit.suites.replay.DEFAULT_RUBRIC`).")
    api_base: str | None = Field(default=None, description="Endpoint of the judge (self-hosted or proxied).")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the judge's key.")
    price: Price | None = Field(default=None, description="The judge's price; default: the price files.")
    max_tokens: int = Field(default=1024, ge=1, description="Longest verdict the judge may write: bounds "
                            "what a --max-cost budget reserves for each judge call.")


class SuiteConfig(Strict):
    """One suite: a built-in generator by name, a user file by path, or ``replay:PROFILE``."""

    name: str = Field(description="Built-in suite name, a name for a file suite, or replay:PROFILE.")
    path: str | None = Field(default=None, description="JSONL or CSV file; relative to the config file.")
    size: int | None = Field(default=None, ge=1, description="Items to generate (built-in suites) or to "
                             "draw from the profile's text (replay suites).")
    difficulty: int | None = Field(default=None, ge=1, le=5, description="Built-in suites: 1 (easy) to 5.")
    seed: int | None = Field(default=None, description="Overrides the run seed for this suite.")
    concurrency: int | None = Field(
        default=None, ge=2, le=256,
        description="Latency suites: requests sent at once in the second phase (default 10); "
                    "the first phase sends one at a time.")
    judge: JudgeConfig | None = Field(default=None, description="Replay suites: the judge that compares each "
                                      "answer with the one logged from the model in production.")
    incumbent_price: Price | None = Field(default=None, description="Replay suites: the price of the model "
                                          "that wrote the logged answers; default: the price files.")


class RunOptions(Strict):
    """How every request is made."""

    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1)
    timeout: float = Field(default=120.0, gt=0, description="Seconds per attempt.")
    retries: int = Field(default=3, ge=0, le=20, description="Retries after the first attempt.")
    max_retry_wait: float = Field(
        default=300.0, ge=0, description="Seconds an item may spend waiting between attempts, in all."
    )
    limit: int | None = Field(default=None, ge=1, description="At most this many items per suite.")
    seed: int = Field(default=1234, description="Seed for generated suites (and sent where supported).")
    epochs: int = Field(
        default=1, ge=1, le=100,
        description="Times each item is asked; the intervals and tests treat an item's answers as one unit.")
    lm_eval_include: list[str] = Field(
        default_factory=list, description="Folders of extra lm-eval task YAMLs, for `lm-eval:<task>` suites.")
    fixed_concurrency: bool = Field(
        default=False, description="Keep every model at its max_concurrency instead of adapting to rate "
        "limits (a model's own adaptive_concurrency still wins).")


class RunConfig(Strict):
    """Everything a run needs; stored with the run (without any key)."""

    models: list[ModelConfig] = Field(default_factory=list)
    suites: list[SuiteConfig] = Field(default_factory=list)
    run: RunOptions = Field(default_factory=RunOptions)
    source: str | None = Field(default=None, description="The config file, for messages.")
    _origins: Origins | None = PrivateAttr(default=None)

    @property
    def origins(self) -> Origins:
        return self._origins or Origins(self.source or "<options>")

    def where(self, *loc: Any) -> str:
        """Where a field of this config was set, for a message: file, line and field, or the flag."""
        return self.origins.where(loc)

    @model_validator(mode="after")
    def _unique_labels(self) -> RunConfig:
        seen: set[str] = set()
        for model in self.models:
            if model.display in seen:
                raise ValueError(f"two models are labelled {model.display!r}; give each a distinct label")
            seen.add(model.display)
        return self

    def config_hash(self) -> str:
        """A short hash of what determines the requests (not the file path)."""
        payload = self.model_dump(mode="json", exclude={"source"})
        if payload["run"].get("epochs") == 1:  # the default: keep hashes of older runs unchanged
            del payload["run"]["epochs"]
        for suite in payload["suites"]:
            if suite.get("concurrency") is None:  # not set: the hashes of older configs stay as they were
                suite.pop("concurrency", None)
        payload["run"].pop("fixed_concurrency", None)  # how fast calls go changes no request
        for model in payload["models"]:
            # facts only label reports; they change no request, so not the hash either
            model.pop("facts", None)
            model.pop("adaptive_concurrency", None)
            if model.get("thinking") is None:  # not set: the hashes of older configs stay as they were
                model.pop("thinking", None)
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config; errors name the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: config file not found; check the path passed to -c")
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with models/suites/run at the top level")
    origins = Origins(str(path), lines)
    _refuse_empty_lists(data, origins)
    config = validate_config(data, source=str(path), origins=origins)
    return _resolve_capacity_paths(_resolve_suite_paths(config, path.parent), path)


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """The document and the line of each of its fields, from one parse."""
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return (data if data is not None else {}), lines


def _node_lines(node: yaml.Node, loc: tuple, lines: dict[tuple, int]) -> None:
    """Fill ``lines`` with the 1-based line of every field under ``node``: a mapping entry
    is on its key's line, a list item on the line where the item starts."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[loc + (key.value,)] = key.start_mark.line + 1
                _node_lines(value, (*loc, key.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[loc + (i,)] = item.start_mark.line + 1
            _node_lines(item, (*loc, i), lines)


def _refuse_empty_lists(data: dict[str, Any], origins: Origins) -> None:
    """An explicit ``models: []`` is a mistake, never a request for the defaults."""
    hints = {"models": "name at least one model, or leave models out to compare the default lineup",
             "suites": "name at least one suite, or leave suites out to run the built-in suites"}
    for key, hint in hints.items():
        if key in data and data[key] == []:
            raise UsageError(f"{origins.where((key,))}: the list is empty ({hint})")


def validate_config(data: dict[str, Any], source: str = "<options>", origins: Origins | None = None) -> RunConfig:
    origins = origins or Origins(source)
    try:
        config = RunConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, origins)) from None
    config._origins = origins
    return config


def describe_validation_error(exc: ValidationError, origins: Origins) -> str:
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the configuration reference in the README)"
        lines.append(f"{origins.where(error['loc'])}: {message}")
    return "\n".join(lines)


def _field_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _resolve_suite_paths(config: RunConfig, base: Path) -> RunConfig:
    for suite in config.suites:
        if suite.path and not Path(suite.path).is_absolute():
            suite.path = str((base / suite.path).resolve())
    return config


def _resolve_capacity_paths(config: RunConfig, path: Path) -> RunConfig:
    # like suite paths: a config moved with its results folder keeps working from any cwd;
    # the absolute path is what the stored run keeps, so reports find the sweep again
    for i, model in enumerate(config.models):
        if model.price_from_capacity is None:
            continue
        target = Path(model.price_from_capacity)
        target = target if target.is_absolute() else (path.parent / target).resolve()
        if not target.is_file():
            where = config.where("models", i, "price_from_capacity")
            raise UsageError(f"{where}: {model.price_from_capacity} not found "
                             f"(looked at {target}); run `evalkit capacity` or fix the path, relative to the config")
        model.price_from_capacity = str(target)
    return config


def apply_overrides(
    config: RunConfig,
    *,
    models: list[ModelConfig] | None = None,
    suites: list[SuiteConfig] | None = None,
    run_options: dict[str, Any] | None = None,
    models_from: str = "-m",
) -> RunConfig:
    """CLI flags replace the file's values: -m replaces the models, -s the suites.

    A value that fails validation is blamed on the flag that set it (``--limit -5: ...``);
    ``models_from`` says what to call the source of ``models`` in messages.
    """
    data = config.model_dump()
    origins = config.origins
    if models:
        data["models"] = [m.model_dump() for m in models]
        origins = origins.replaced(("models",), {("models", i): f"{models_from} {m.id}" for i, m in enumerate(models)})
    if suites:
        data["suites"] = [s.model_dump() for s in suites]
        origins = origins.replaced(("suites",), {("suites", i): f"-s {s.path or s.name}" for i, s in enumerate(suites)})
    for key, value in (run_options or {}).items():
        if value is not None:
            data["run"][key] = value
            origins = origins.replaced(("run", key), {("run", key): _flag_text(key, value)})
    return validate_config(data, source=config.source or "<options>", origins=origins)


def _flag_text(name: str, value: Any) -> str:
    shown = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return f"--{name.replace('_', '-')} {shown}"


def model_from_option(text: str) -> ModelConfig:
    """`-m ID` names a model by its id; `-m '{id: ID, thinking: on, label: x}'` gives any of a
    model's config fields, as a YAML flow mapping (the same fields as under `models:`)."""
    if not text.lstrip().startswith("{"):
        return ModelConfig(id=text)
    try:
        fields = yaml.safe_load(text)
    except yaml.YAMLError as error:
        reason = getattr(error, "problem", None) or error
        raise UsageError(f"-m {text}: not a YAML mapping ({reason}); "
                         "write it as '{id: provider/model, thinking: on}'") from None
    if not isinstance(fields, dict) or "id" not in fields:
        raise UsageError(f"-m {text}: a model given as a mapping needs its id: '{{id: provider/model, ...}}'")
    try:
        return ModelConfig.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"-m {text}: {problems}") from None


def suite_from_option(text: str) -> SuiteConfig:
    """`-s NAME` names a built-in suite; `-s path/to/file.jsonl` a file suite."""
    if text.endswith((".jsonl", ".csv")) or os.sep in text:
        return SuiteConfig(name=Path(text).stem, path=str(Path(text).resolve()))
    return SuiteConfig(name=text)
