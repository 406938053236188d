"""Built-in suites ``tools`` and ``tools-zh``: pick the right function calls among 3 to 12 tools.

One request to an assistant that has functions to call, in the OpenAI function-calling
format (`catalogue`): the item offers the tools in its request parameters and the reply
is scored by ``tool_call`` on the calls it makes, in the style of BFCL's AST checker.

Difficulty spreads models apart in several ways at once:

- level 1: one obvious tool among 3 of unrelated subjects, the values as written;
- level 2: 5 tools, with the other tools of the same subject as distractors (the current
  weather next to the forecast, a rate next to a conversion), optional arguments and enums;
- level 3: 7 tools; nested objects (passengers, a parcel and its destination), airports
  by name, dates in words, and requests that need no tool at all;
- level 4: 9 tools; parallel calls of one tool (two orders, three cities), weights in
  grams or 斤, amounts in words, round trips, attendees, and requests no tool can do;
- level 5: 12 tools; parallel calls of different tools in one message, dates relative to
  today, 12-hour times, and the rest of level 4.

A request with no call to make has the reference ``[]``: calling anything scores 0.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from evalkit.suites.builtin import Item, register_generated
from evalkit.suites.builtin.tools.catalogue import DOMAIN_OF, catalogue, near
from evalkit.suites.builtin.tools.kinds import impossible, no_tool, parallel
from evalkit.suites.builtin.tools.locales import LOCALES
from evalkit.suites.builtin.tools.requests import SINGLE, Request, Scene, today_line

TOOL_COUNTS = {1: 3, 2: 5, 3: 7, 4: 9, 5: 12}
"""How many tools each level offers (more when its request needs more)."""

_KINDS = {
    1: (("single", 1.0),),
    2: (("single", 1.0),),
    3: (("single", 0.8), ("no_tool", 0.2)),
    4: (("single", 0.35), ("parallel", 0.35), ("no_tool", 0.15), ("impossible", 0.15)),
    5: (("single", 0.25), ("parallel", 0.45), ("no_tool", 0.15), ("impossible", 0.15)),
}
"""Level -> the share of each kind of request."""

INSTRUCTION = {
    "en": "You can call the functions provided. Call the ones this request needs, with the right arguments; "
          "if it needs none, or none of them can do what is asked, answer without calling any.",
    "zh": "你可以调用提供的函数。请按下面的请求调用需要的函数并填好参数；如果不需要调用，"
          "或者没有哪个函数能做到，就直接回答，不要调用。",
}

_FIRST_DAY = date(2026, 1, 5)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One request at ``level`` with the tools it is offered and the calls that answer it."""
    scene = Scene(rng, level, LOCALES[language], _FIRST_DAY + timedelta(days=rng.randint(0, 700)))
    request = _request(scene)
    tools = _offer(scene, request)
    return Item(
        prompt=f"{INSTRUCTION[language]}\n\n{today_line(scene)}\n{request.text}",
        reference=list(request.calls),
        scorer="tool_call",
        template=request.template,
        metadata={"kind": request.kind, "offered": tools, "expected": [c["name"] for c in request.calls]},
        params={"tools": [catalogue(language)[name] for name in tools], "tool_choice": "auto"},
    )


def _request(scene: Scene) -> Request:
    kinds, weights = zip(*_KINDS[scene.level])
    kind = scene.rng.choices(kinds, weights)[0]
    if kind == "parallel":
        return parallel(scene)
    if kind == "no_tool":
        return no_tool(scene)
    if kind == "impossible":
        return impossible(scene)
    builders = [build for build, lowest, highest in SINGLE if lowest <= scene.level <= highest]
    return scene.rng.choice(builders)(scene)


def _offer(scene: Scene, request: Request) -> list[str]:
    """The tools offered, in a random order: those the request is about, from level 2 their
    near namesakes, then others up to the level's count (at level 1 of other subjects only)."""
    chosen = list(request.needs)
    if scene.level >= 2:
        chosen += [name for needed in request.needs for name in near(needed) if name not in chosen]
    subjects = {DOMAIN_OF[name] for name in chosen}
    others = sorted(name for name in catalogue(scene.locale.language)
                    if name not in chosen and (scene.level >= 2 or DOMAIN_OF[name] not in subjects))
    missing = max(0, TOOL_COUNTS[scene.level] - len(chosen))
    offered = chosen + scene.rng.sample(others, min(missing, len(others)))
    scene.rng.shuffle(offered)
    return offered


register_generated(
    "tools",
    build_item,
    description="Requests to an assistant with 3-12 functions; make the right calls (parallel, or none).",
    typical_answer_tokens=50,
    order=5,
    in_default_run=False,
)
