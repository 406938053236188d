"""Concurrency, rate limits and retries: turns (model, sample) jobs into `CallRecord`s.

Provider details stay in `evalkit.transport`; this module decides when to send, how often to
retry and when to give up, and hands each finished record to a sink as soon as it exists
(the store commits it there, so a finished call is never lost).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import inspect
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from evalkit import transport
from evalkit.economics.pricing import ModelPrice
from evalkit.errors import EvalkitError
from evalkit.run.budget import Budget
from evalkit.run.cache import ResponseCache
from evalkit.run.estimate import TEMPLATE_OVERHEAD_TOKENS, TOKENIZER_MARGIN, worst_call_cost
from evalkit.run.limits import CallOutcome, Limiter, LimiterState, LocalLimiter, Permit, limits_for
from evalkit.run.turns import merge_turns, tool_round
from evalkit.scoring.registry import JudgeError, get_scorer, score_item, scorer_input
from evalkit.store.records import CallKey, CallRecord, decode_start_s, output_speed_tps
from evalkit.suites.base import Sample, billed_prompt_text
from evalkit.transport.base import BILLED_ERROR_CLASSES
from evalkit.transport.lag import LagMonitor


@dataclass(frozen=True)
class Target:
    """A model as the runner sees it: where to send, with what, and how to cost it."""

    label: str
    model_id: str
    """The id litellm routes on (a local model is `openai/<alias>` at its own api_base)."""
    config_id: str
    """The id as the user wrote it (e.g. `local/smollm2-135m-q4_1`), stored with each record."""
    price: ModelPrice
    params: dict
    structured_output: bool = False
    """Send an item's `response_format` where its scorer has one (`json_schema`)."""
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    """The api_base as configured (None for a provider's own API or the local model, whose
    port changes each run): part of what identifies a request."""
    max_concurrency: int = 8
    requests_per_minute: float | None = None
    adaptive: bool = False
    """Let the limiter adapt the model's concurrency to 429s and rate-limit headers, up to
    `max_concurrency` (`evalkit.run.limits`); False keeps `max_concurrency` fixed."""
    token_counter: Callable[[str], int] | None = field(default=None, repr=False, compare=False)
    """Counts tokens when the provider reports no usage; default: litellm's tokenizer for the model."""
    endpoint_down: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)
    """For an endpoint evalkit runs itself (the local model): why it is gone, or None while
    it is up. A failed call to a dead endpoint is final and stops the model's other calls."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: never unlimited, and the server's Retry-After wins over backoff."""

    retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_total_wait: float = 300.0
    """Give up on an item once its waits between attempts would exceed this many seconds."""

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so many waiting calls do not retry in step."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Job:
    target: Target
    sample: Sample
    epoch: int = 0
    max_cost: float = 0.0
    """Worst-case cost of the call (full prompt, max_tokens of output) and of its judging:
    what a budget reserves."""
    judge_max_cost: float = 0.0
    """The judging part of `max_cost` (0 for an item no judge grades)."""

    @property
    def key(self) -> CallKey:
        return CallKey(self.target.label, self.sample.suite, self.sample.id, self.epoch)


class RunBudget(Protocol):
    """A run's budget as the runner uses it: a `Budget`, or a worker's proxy for the one
    its parent holds, whose reservation is awaited."""

    def try_reserve(self, worst_case: float) -> bool | Awaitable[bool]: ...

    def settle(self, reserved: float, actual: float | None) -> None: ...


TASKS_PER_SLOT = 2
"""Jobs started per concurrency slot of a model: twice the slots, so a call backing off
before a retry does not leave its slot idle."""


class Runner:
    """Runs jobs with a concurrency limit and optional rate limit per model.

    Optional collaborators: `journal` is awaited once per job right before its first call
    goes out (so a crash can tell which calls were in flight); `budget` reserves each
    job's worst-case cost before sending and stops the run when the next call could
    exceed it; `cache` replays earlier successful answers (development only); `limiter`
    decides when each call may go (`evalkit.run.limits`; default: one in this process,
    from the targets' limits), shared by every runner of a run that splits it.
    """

    def __init__(
        self,
        run_id: str,
        timeout: float,
        retry: RetryPolicy,
        sink: Callable[[CallRecord], None],
        *,
        journal: Callable[[Job], Awaitable[None]] | None = None,
        budget: Budget | RunBudget | None = None,
        cache: ResponseCache | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.run_id = run_id
        self.timeout = timeout
        self.retry = retry
        self.sink = sink
        self.journal = journal
        self.budget = budget
        self.cache = cache
        self.limiter = limiter
        self.gates: dict[str, _Gate] = {}
        self.stopped: dict[str, str] = {}
        """Models stopped after a failure no retry can fix (a bad key): label -> reason."""
        self.unsent = 0
        """Jobs not sent, or tasks stopped before their next turn, because the budget would
        have been exceeded."""
        self.lag: LagMonitor | None = None
        """Samples the event loop's lag while `run` runs; None outside it."""

    async def run(self, jobs: Iterable[Job]) -> None:
        jobs = list(jobs)
        by_model: dict[str, list[Job]] = {}
        for job in jobs:
            self.gates.setdefault(job.target.label, _Gate())
            by_model.setdefault(job.target.label, []).append(job)
        if self.limiter is None:
            self.limiter = LocalLimiter(LimiterState(limits_for(job.target for job in jobs)))
        await transport.warm_up({(job.target.model_id, job.target.api_base, job.target.api_key) for job in jobs})
        if any(job.sample.environment is not None for job in jobs):
            import jsonschema  # noqa: F401 - tool calls are checked with it; imported mid-run it would stall the loop
        self.lag = LagMonitor()
        self.lag.start()
        # Everything alive before the calls (litellm, pandas, the suites) is moved out of the
        # collector's sight: a full collection over it stalls the loop for tens of ms, and
        # that stall would be read as the provider's latency.
        gc.freeze()
        try:
            await asyncio.gather(*(self._feed(model_jobs) for model_jobs in by_model.values()))
        finally:
            gc.unfreeze()
            self.lag.stop()
            await transport.close_clients()

    async def _feed(self, jobs: list[Job]) -> None:
        """Start one model's jobs in order, at most `TASKS_PER_SLOT` per concurrency slot at
        a time. A task per job up front would hold every job of a 100,000-item run in memory
        at once, and the loop would prepare them all before the first call went out; a
        feeder per model keeps a slow model's queue from holding back a fast one's."""
        room = asyncio.Semaphore(TASKS_PER_SLOT * jobs[0].target.max_concurrency)
        running: set[asyncio.Task] = set()
        failed: list[BaseException] = []

        async def one(job: Job) -> None:
            try:
                await self._run_job(job)
            finally:
                room.release()

        def finished(task: asyncio.Task) -> None:
            running.discard(task)
            error = None if task.cancelled() else task.exception()
            if error is not None:
                failed.append(error)

        try:
            for job in jobs:
                await room.acquire()
                if failed:
                    break
                task = asyncio.create_task(one(job))
                running.add(task)
                task.add_done_callback(finished)
            await asyncio.gather(*running)
        except BaseException:
            for task in running:  # interrupted (Ctrl-C) or failed: no job is left behind
                task.cancel()
            raise
        if failed:
            raise failed[0]

    async def _run_job(self, job: Job) -> None:
        record = await self.execute(job)
        if record is not None:
            self.sink(record)

    async def execute(self, job: Job) -> CallRecord | None:
        """One job to one record: a call (attempts until success, a final error, or the
        retry budget), or for a multi-turn task its turns until the model answers.

        None when the job was never sent because the budget ran out: it stays to be done.
        """
        state = _JobState()
        turns: list[CallRecord] = []
        calls: list[list[dict]] = []
        record: CallRecord | None = None
        try:
            try:
                attempt = await self._converse(job, state, turns, calls)
            except _BudgetExhausted:
                if not turns:
                    self.unsent += 1
                    return None
                attempt = None  # a task the budget cannot take further: its paid turns are kept
                _stop_for_budget(turns)
                self.unsent += 1
            record = turns[0] if job.sample.environment is None else self._task_record(job, turns, calls)
            await self._score(record, attempt, job.sample)
        finally:
            # settled after judging: the reservation held the judge's worst case too
            if self.budget and state.reserved is not None:  # what was sent; replayed turns cost nothing
                judged = _judging_spent(record, job)
                self.budget.settle(state.reserved, sum(t.cost_usd or 0.0 for t in turns if not t.from_cache) + judged)
        record.finished_at = time.time()
        return record

    async def _converse(self, job: Job, state: _JobState, turns: list[CallRecord],
                        calls: list[list[dict]]) -> transport.Attempt | None:
        """Send the job's turns, filling `turns` and `calls` (each turn's calls with their
        results); the last turn's reply. A single call is a conversation of one turn."""
        sample, environment = job.sample, job.sample.environment
        messages = list(sample.messages)
        limit = environment.max_turns if environment is not None else 1
        attempt: transport.Attempt | None = None
        for number in range(1, limit + 1):
            if number > 1:
                await self._cover_next_turn(job, state, turns, messages)
            turn, attempt = await self._turn(job, tuple(messages), state, first=number == 1)
            turns.append(turn)
            if turn.error_class is not None or environment is None or attempt is None or not attempt.tool_calls:
                calls.append([])
                break
            if number == limit:  # still calling tools: the task ends unanswered
                calls.append(calls_made(attempt))
                break
            more, made = tool_round(attempt, environment, sample.params.get("tools"), number)
            calls.append(made)
            messages.extend(more)
            state.added = more
        return attempt

    async def _cover_next_turn(self, job: Job, state: _JobState, turns: list[CallRecord],
                               messages: list[dict[str, Any]]) -> None:
        """Keep a task's reservation above what it has spent plus its next call's worst case.

        The first reservation rests on assumptions (results no bigger than the item's data);
        before each later turn the real conversation bounds the next prompt: the last
        prompt, its reply, and every byte of the results sent back counted as a token (no
        tokenizer makes more tokens than bytes). Raises `_BudgetExhausted` when the run's
        budget cannot take it."""
        if self.budget is None or state.reserved is None:
            return
        last = turns[-1]
        margin = TOKENIZER_MARGIN if last.usage_source == "estimated" else 1.0
        added = sum(len(json.dumps(m, ensure_ascii=False).encode()) + TEMPLATE_OVERHEAD_TOKENS for m in state.added)
        prompt = int(((last.prompt_tokens or 0) + (last.completion_tokens or 0)) * margin) + added
        params = request_params(job.target, job.sample)
        worst = worst_call_cost(job.target.price, prompt, params.get("max_tokens"), self.timeout)
        short = sum(t.cost_usd or 0.0 for t in turns if not t.from_cache) + worst + job.judge_max_cost - state.reserved
        if short > 0:
            if not await self._reserve(short):
                raise _BudgetExhausted()
            state.reserved += short

    async def _turn(self, job: Job, messages: tuple[dict[str, Any], ...], state: _JobState,
                    first: bool = True) -> tuple[CallRecord, transport.Attempt | None]:
        """One call of a job (its only one, or one turn of a task): its record and what came back."""
        target, sample = job.target, job.sample
        turn = _new_record(self.run_id, job, messages)
        cached = self.cache.get(turn.request_hash, job.key) if self.cache else None
        if cached is not None:
            _fill_success(turn, cached, _billed_prompt(messages, sample), target)
            turn.from_cache, turn.attempts = True, 0
            turn.finished_at = time.time()
            return turn, cached
        request = transport.Request(
            model_id=target.model_id,
            messages=messages,
            params=request_params(target, sample) if first else later_turn_params(request_params(target, sample)),
            timeout=self.timeout,
            api_base=target.api_base,
            api_key=target.api_key,
        )
        state.attempt = None
        await self._attempts(job, request, turn, state)
        turn.loop_lag_ms = state.loop_lag_ms
        turn.finished_at = time.time()
        if self.cache and turn.error_class is None and state.attempt is not None:
            self.cache.put(turn.request_hash, job.key, state.attempt)
        return turn, state.attempt

    def _task_record(self, job: Job, turns: list[CallRecord], calls: list[list[dict]]) -> CallRecord:
        task = _new_record(self.run_id, job, job.sample.messages, task=True)
        task.started_at = turns[0].started_at
        merge_turns(task, turns, calls)
        return task

    async def _score(self, record: CallRecord, attempt: transport.Attempt | None, sample: Sample) -> None:
        """Score the answer of a call or task that succeeded (a failed one scores 0)."""
        if record.error_class is not None or attempt is None:
            return
        if sample.environment is not None and attempt.tool_calls:
            record.score, record.score_detail = 0.0, (
                f"no answer within the turn limit: turn {record.turns} of {sample.environment.max_turns} "
                "still called tools")
            return
        if get_scorer(sample.scorer).is_async:
            await self._judge(record, sample)
            return
        response = scorer_input(attempt.text, calls_made(attempt), sample, sample.params.get("tools"))
        if get_scorer(sample.scorer).runs_code:  # seconds of tests: not on the event loop
            score = await asyncio.to_thread(score_item, response, sample)
        else:
            score = score_item(response, sample)
        record.tests_s, record.sandbox = score.run_s, score.sandbox
        record.score = score.value
        record.extracted = score.extracted
        record.score_detail = score.detail or None

    async def _attempts(self, job: Job, request: transport.Request, record: CallRecord, state: _JobState) -> None:
        target = job.target
        for attempt_no in range(1, self.retry.retries + 2):
            record.attempts = attempt_no
            try:
                state.attempt = await self._attempt(job, request, state)
            except _ModelStopped as stop:
                record.error_class, record.error_message = "skipped", str(stop)
                record.attempts = attempt_no - 1
                record.cost_usd = 0.0 if target.price.known else None
                return
            except transport.CallError as error:
                down = target.endpoint_down() if target.endpoint_down else None
                if down:
                    self.stopped[target.label] = f"not sent: {down}"
                delay = None if down else self._delay_before_retry(error, attempt_no, state.waited)
                if delay is None:
                    _fill_error(record, error, target, _billed_prompt(request.messages, job.sample))
                    if error.error_class == "auth":
                        self.stopped[target.label] = f"not sent: {target.label} failed authentication ({error})"
                    return
                state.waited += delay  # over the whole task: its turns share one wait budget
                await asyncio.sleep(delay)
                continue
            _fill_success(record, state.attempt, _billed_prompt(request.messages, job.sample), target)
            return

    async def _judge(self, record: CallRecord, sample: Sample) -> None:
        """Score with an async scorer (one that asks a model, such as the LLM judge) once
        the call under test succeeded.

        Inline rather than a later pass: the record reaches the store once, complete, so
        resume and the reports never see an unjudged item. A failure of the scorer's model
        is an error of the item (class ``judge``), not a wrong answer.
        """
        build = get_scorer(sample.scorer).async_scorer
        if build is None or record.error_class is not None:
            return
        grader = build(sample.scorer_options)
        record.judge_model, record.judge_rubric = grader.model, grader.rubric or None
        try:
            judgement = await grader.grade(sample.prompt_text, record.response_text or "", sample.reference,
                                           self.timeout)
        except JudgeError as error:
            record.error_class, record.error_message, record.score = "judge", str(error), 0.0
            return
        record.judge_verdict = judgement.verdict
        record.judge_prompt_tokens = judgement.prompt_tokens
        record.judge_completion_tokens = judgement.completion_tokens
        record.judge_cost_usd = judgement.cost_usd
        record.score = judgement.score.value
        record.extracted = judgement.score.extracted
        record.score_detail = judgement.score.detail or None

    async def _attempt(self, job: Job, request: transport.Request, state: _JobState) -> transport.Attempt:
        gate = self.gates[job.target.label]
        if gate.probing and not gate.opened.is_set():
            await gate.opened.wait()
        elif not gate.probing:
            # The model's first call goes alone: a bad key or a wrong endpoint then costs
            # one refused call, not one per concurrency slot. The others go as soon as the
            # endpoint accepts it, not after its whole answer: waiting that long would add
            # one call's latency to every run's wall time.
            gate.probing = True
            try:
                return await self._send(job, replace(request, on_accepted=gate.opened.set), state)
            finally:
                gate.opened.set()
        return await self._send(job, request, state)

    async def _send(self, job: Job, request: transport.Request, state: _JobState) -> transport.Attempt:
        target = job.target
        assert self.limiter is not None  # set by `run`
        permit = await self.limiter.acquire(target.label)
        outcome = CallOutcome("error")
        try:
            # Checked once a slot is free: calls queued behind a failed one must not go out.
            if target.label in self.stopped:
                raise _ModelStopped(self.stopped[target.label])
            if not state.sent:
                await self._before_first_send(job, state)
            mark = self.lag.mark() if self.lag else 0
            timed: transport.Attempt | None = None
            try:
                timed = await transport.complete(request)
                outcome = call_outcome(timed, None)
                return timed
            except transport.CallError as error:
                timed = error.attempt
                outcome = call_outcome(timed, error)
                raise
            finally:
                state.loop_lag_ms = self._lag_of(timed, mark)
        finally:
            await self._release(permit, outcome)

    async def _release(self, permit: Permit, outcome: CallOutcome) -> None:
        assert self.limiter is not None
        # A limiter's release does not wait (a remote one posts it), so a call cancelled
        # mid-flight (Ctrl-C, a failed sibling) still frees its slot here.
        await self.limiter.release(permit, outcome)

    def _lag_of(self, timed: transport.Attempt | None, mark: int) -> float | None:
        """The client lag an attempt was timed under: that of the process whose clock timed
        it (a litellm worker's own), else this loop's since `mark`."""
        if timed is not None and timed.clock_lag_ms is not None:
            return timed.clock_lag_ms
        return self.lag.worst_since(mark) if self.lag else None

    async def _reserve(self, amount: float) -> bool:
        """Reserve on the run's budget: a `Budget` here, or one in the parent of this
        worker process, whose answer is awaited (`evalkit.run.worker_process`)."""
        assert self.budget is not None
        reserved = self.budget.try_reserve(amount)
        return await reserved if inspect.isawaitable(reserved) else reserved

    async def _before_first_send(self, job: Job, state: _JobState) -> None:
        if self.budget is not None:
            if not await self._reserve(job.max_cost):
                raise _BudgetExhausted()
            state.reserved = job.max_cost
        if self.journal is not None:
            await self.journal(job)
        state.sent = True

    def _delay_before_retry(self, error: transport.CallError, attempt_no: int, waited: float) -> float | None:
        """Seconds to wait before the next attempt, or None if this error is final."""
        if not error.retryable or attempt_no > self.retry.retries:
            return None
        delay = error.retry_after if error.retry_after is not None else self.retry.backoff(attempt_no)
        if waited + delay > self.retry.max_total_wait:
            return None
        return delay


@dataclass
class _JobState:
    sent: bool = False
    reserved: float | None = None
    attempt: transport.Attempt | None = None
    loop_lag_ms: float | None = None
    """Worst event-loop lag while the latest attempt was in flight."""
    waited: float = 0.0
    """Seconds waited between attempts, over all of a task's turns (`RetryPolicy.max_total_wait`)."""
    added: list[dict[str, Any]] = field(default_factory=list)
    """The messages the last tool round added to a task's conversation."""


class _BudgetExhausted(EvalkitError):
    """The next call could take the run over its budget."""


@dataclass
class _Gate:
    """Holds a model's calls until its first one is accepted (or has come back)."""

    probing: bool = False
    opened: asyncio.Event = field(default_factory=asyncio.Event)


class _ModelStopped(EvalkitError):
    """The model was stopped by an earlier failure that no retry can fix."""


def call_outcome(attempt: transport.Attempt | None, error: transport.CallError | None) -> CallOutcome:
    """What the limiter learns from an attempt: answered, rate-limited (a 429) or failed,
    with the rate-limit headers the response carried and the tokens it used."""
    headers = attempt.rate_limit_headers if attempt is not None else None
    if error is None:
        tokens = None
        if attempt is not None and attempt.usage_source == "provider":
            tokens = (attempt.prompt_tokens or 0) + (attempt.completion_tokens or 0)
        # most providers send no rate-limit headers: nothing to parse on the hot path
        return CallOutcome.from_headers("ok", headers, tokens=tokens) if headers else CallOutcome("ok", tokens=tokens)
    if error.status == 429 or error.error_class == "rate_limit":
        return CallOutcome.from_headers("rate_limited", headers, retry_after_s=error.retry_after)
    return CallOutcome.from_headers("error", headers)


def later_turn_params(params: dict) -> dict:
    """A task's parameters after its first turn: a forced tool choice (``required``, or one
    named function) forced the first call; kept, it would forbid the answer the task needs."""
    choice = params.get("tool_choice")
    return {**params, "tool_choice": "auto"} if choice is not None and choice != "none" else params


def _judging_spent(record: CallRecord | None, job: Job) -> float:
    """What judging the record cost, for the budget: its judge cost, or where the judge
    failed the judge's reserved worst case: a pairwise judge may have been paid for its
    first call before the second failed, the record does not say, and the limit must hold."""
    if record is None:
        return 0.0
    if record.error_class == "judge":
        return job.judge_max_cost
    return record.judge_cost_usd or 0.0


def _stop_for_budget(turns: list[CallRecord]) -> None:
    """End a task whose next turn the budget would not cover: the error of its last turn."""
    last = turns[-1]
    last.error_class = "budget"
    last.error_message = (f"stopped after turn {len(turns)}: the next turn's worst case would take the run over "
                          "its --max-cost budget; raise it and resume the run to finish the task")


def request_params(target: Target, sample: Sample) -> dict:
    """The model's request parameters with the sample's own on top: an lm-eval task's
    generation settings (stop sequences, max tokens, temperature) win, as they do in lm-eval."""
    own = sample_params(target, sample)
    return {**target.params, **own} if own else target.params


def sample_params(target: Target, sample: Sample) -> dict:
    """What this item adds to the model's parameters: its own, and the structured-output
    request its scorer builds when the model asks for that mode."""
    if not target.structured_output:
        return sample.params
    build = get_scorer(sample.scorer).response_format
    response_format = build(sample.scorer_options) if build else None
    return {**sample.params, "response_format": response_format} if response_format else sample.params


def request_hash(target: Target, messages: tuple[dict[str, Any], ...], sample_params: dict | None = None) -> str:
    """What was asked, in the user's terms: model, endpoint, messages and parameters."""
    payload = {
        "model": target.config_id,
        "api_base": target.endpoint,
        "messages": list(messages),
        "params": target.params,
    }
    if sample_params:  # only then: the hashes of samples without their own params stay as they were
        payload["sample_params"] = sample_params
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _new_record(run_id: str, job: Job, messages: tuple[dict[str, Any], ...], task: bool = False) -> CallRecord:
    """A record of `job` asking `messages`; `task`: the record of a whole multi-turn task,
    whose hash covers the environment its tools answer from, as well as its first messages."""
    params = sample_params(job.target, job.sample)
    environment = job.sample.environment
    if task and environment is not None:
        params = {**params, "environment": environment.identity()}
    return CallRecord(
        run_id=run_id,
        model=job.target.label,
        model_id=job.target.config_id,
        suite=job.sample.suite,
        sample_id=job.sample.id,
        cluster=job.sample.cluster,
        epoch=job.epoch,
        request_hash=request_hash(job.target, messages, params),
        started_at=time.time(),
    )


def _billed_prompt(messages: tuple[dict[str, Any], ...], sample: Sample) -> str:
    return billed_prompt_text(messages, sample.params.get("tools"))


def _fill_error(record: CallRecord, error: transport.CallError, target: Target, prompt_text: str) -> None:
    price = target.price
    record.error_class = error.error_class
    record.error_message = str(error)
    record.score = 0.0
    partial = error.attempt
    if partial is not None:
        record.response_text = partial.text or None
        record.tool_calls = tool_calls_json(partial)
        _fill_clocks(record, partial)
        record.finish_reason = partial.finish_reason
        if error.error_class in BILLED_ERROR_CLASSES:  # the provider bills every token it made
            _fill_usage(record, partial, prompt_text, target)
            return
    # APIs do not bill a failed call, so with a known price it costs 0 (an unknown price
    # stays unknown); a self-hosted machine was busy for the time the call took.
    record.cost_usd = price.cost(0, 0, 0, record.e2e_s or 0.0) if price.known else None


def _fill_clocks(record: CallRecord, attempt: transport.Attempt) -> None:
    """The three clocks (README, metric definitions) and the reasoning kept apart from the answer."""
    record.ttft_s = attempt.ttft_s
    record.reasoning_ttft_s = attempt.reasoning_ttft_s
    record.first_token_s = attempt.first_token_s
    record.e2e_s = attempt.e2e_s
    record.reasoning_text = attempt.reasoning or None
    if attempt.reasoning_ttft_s is not None:
        thought_until = attempt.ttft_s if attempt.ttft_s is not None else attempt.e2e_s
        if thought_until is not None:
            record.thinking_s = max(0.0, thought_until - attempt.reasoning_ttft_s)


def _fill_usage(record: CallRecord, attempt: transport.Attempt, prompt_text: str, target: Target) -> None:
    """Tokens (the provider's, else counted and flagged) and the cost they come to."""
    record.cached_tokens = attempt.cached_tokens
    record.cache_write_tokens = attempt.cache_write_tokens
    count = target.token_counter or functools.partial(transport.count_tokens, target.model_id)
    if attempt.usage_source == "provider":
        record.prompt_tokens = attempt.prompt_tokens
        record.completion_tokens = attempt.completion_tokens
        record.usage_source = "provider"
    else:
        record.prompt_tokens = count(prompt_text)
        calls = "".join(call["name"] + call["arguments"] for call in attempt.tool_calls)
        record.completion_tokens = count(attempt.text + attempt.reasoning + calls)
        record.usage_source = "estimated"
    if attempt.reasoning and not attempt.reasoning_tokens:
        # reasoning written into the content (<think>) is billed as completion tokens, but
        # the provider reports none of it apart (or 0): counted, and flagged as counted
        record.reasoning_tokens, record.reasoning_tokens_source = count(attempt.reasoning), "estimated"
    elif attempt.reasoning_tokens is not None:
        record.reasoning_tokens, record.reasoning_tokens_source = attempt.reasoning_tokens, "provider"
    record.output_speed_tps = output_speed_tps(
        record.completion_tokens, decode_start_s(record.first_token_s, record.ttft_s), record.e2e_s)
    record.cost_usd = target.price.record_cost(record.to_dict())


def calls_made(attempt: transport.Attempt) -> list[dict]:
    """The function calls a reply made, ``{"id", "name", "arguments"}`` each, in stream order."""
    return [{"id": call["id"], "name": call["name"], "arguments": call["arguments"]} for call in attempt.tool_calls]


def tool_calls_json(attempt: transport.Attempt) -> str | None:
    """The calls a reply made as the record keeps them (`CallRecord.tool_calls`); None for none."""
    return json.dumps(calls_made(attempt), ensure_ascii=False) if attempt.tool_calls else None


def _fill_success(record: CallRecord, attempt: transport.Attempt, prompt_text: str, target: Target) -> None:
    record.response_text = attempt.text
    record.tool_calls = tool_calls_json(attempt)
    _fill_clocks(record, attempt)
    record.finish_reason = attempt.finish_reason
    _fill_usage(record, attempt, prompt_text, target)

