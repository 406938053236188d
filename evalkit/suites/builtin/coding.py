"""Built-in suite ``coding``: write a Python function to a generated spec; hidden tests.

Each item is a function family (rotate letters, run-length encode, fewest coins, ...)
with its constants drawn from the item's seed (the shift, the separator, the coin
denominations), so the exact function has not been published anywhere: a model that
passes it can code, rather than recall. The prompt gives the signature, the rule and one
worked example; the tests are the family's reference implementation evaluated here on
inputs the prompt does not show, written as HumanEval's ``check(candidate)`` and run by
the `code` scorer in the sandbox.

Difficulty picks the family: level 1 maps and counts, 2 character and digit rules, 3
windows and encodings, 4 recurrences and bracket nesting, 5 dynamic programming.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalkit.suites.builtin import Item, register_generated

TESTS_PER_ITEM = 8


@dataclass(frozen=True)
class Spec:
    """One generated function: what the prompt says and what the tests check."""

    family: str
    entry_point: str
    signature: str
    rule: dict[str, str]
    """The rule in words, per language (it ends the sentence "... that <rule>")."""
    solve: Callable[..., Any]
    """The reference implementation the tests' expected values come from."""
    inputs: list[tuple[Any, ...]]
    """Argument tuples: the first is the prompt's example, the rest are hidden."""


def _int_lists(rng: random.Random, low: int, high: int, longest: int) -> list[tuple[Any, ...]]:
    cases: list[tuple[Any, ...]] = [([rng.randint(low, high) for _ in range(rng.randint(3, longest))],)
                                    for _ in range(TESTS_PER_ITEM - 1)]
    return [*cases, ([],)]


def _words(rng: random.Random, alphabet: str, longest: int) -> list[tuple[Any, ...]]:
    return [("".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest))),)
            for _ in range(TESTS_PER_ITEM - 1)] + [("",)]


def _affine(rng: random.Random) -> Spec:
    a, b = rng.randint(2, 9), rng.randint(-20, 20)
    return Spec("affine", "affine_map", "affine_map(values: list[int]) -> list[int]",
                {"en": f"returns a new list with each value v replaced by {a} * v + ({b}), in the same order",
                 "zh": f"返回一个新列表，把每个值 v 换成 {a} * v + ({b})，顺序不变"},
                lambda values: [a * v + b for v in values], _int_lists(rng, -50, 50, 8))


def _multiples(rng: random.Random) -> Spec:
    k, limit = rng.randint(3, 9), rng.randint(20, 60)
    return Spec("multiples", "count_multiples", "count_multiples(values: list[int]) -> int",
                {"en": f"returns how many values are divisible by {k} and smaller than {limit}",
                 "zh": f"返回能被 {k} 整除且小于 {limit} 的值的个数"},
                lambda values: sum(1 for v in values if v % k == 0 and v < limit), _int_lists(rng, -30, 90, 12))


def _rotate(rng: random.Random) -> Spec:
    shift = rng.randint(2, 24)
    return Spec("rotate", "rotate_letters", "rotate_letters(text: str) -> str",
                {"en": f"shifts every lowercase ASCII letter {shift} places forward in the alphabet, wrapping "
                       "from z to a, and leaves every other character as it is",
                 "zh": f"把每个小写 ASCII 字母在字母表中向后移动 {shift} 位（z 之后回到 a），其他字符保持不变"},
                lambda text: "".join(chr((ord(c) - 97 + shift) % 26 + 97) if "a" <= c <= "z" else c for c in text),
                _words(rng, "abcxyzmnq ,!AZ", 12))


def _digit_power(rng: random.Random) -> Spec:
    power = rng.randint(2, 4)
    skip = rng.randint(0, 9)
    return Spec("digit_power", "digit_power_sum", "digit_power_sum(n: int) -> int",
                {"en": f"returns the sum of the decimal digits of abs(n), each raised to the power {power}, "
                       f"leaving out every digit {skip}",
                 "zh": f"返回 abs(n) 的各位十进制数字的 {power} 次方之和，跳过所有数字 {skip}"},
                lambda n: sum(int(d) ** power for d in str(abs(n)) if int(d) != skip),
                [(rng.randint(-10 ** 6, 10 ** 6),) for _ in range(TESTS_PER_ITEM - 1)] + [(0,)])


def _run_length(rng: random.Random) -> Spec:
    separator = rng.choice(["-", ":", "|", "."])
    def solve(text: str) -> str:
        runs: list[str] = []
        for char in text:
            if runs and runs[-1][0] == char:
                runs[-1] += char
            else:
                runs.append(char)
        return separator.join(f"{run[0]}{len(run)}" for run in runs)
    return Spec("run_length", "encode_runs", "encode_runs(text: str) -> str",
                {"en": f"encodes each run of equal characters as the character followed by the run's length, "
                       f"joining the runs with {separator!r} (an empty text gives '')",
                 "zh": f"把每一段连续相同的字符编码为该字符加上这段的长度，"
                       f"各段之间用 {separator!r} 连接（空字符串返回 ''）"},
                solve, _words(rng, "aab", 14))


def _window(rng: random.Random) -> Spec:
    width = rng.randint(2, 5)
    def solve(values: list[int]) -> int:
        if len(values) < width:
            return 0
        return max(sum(values[i:i + width]) for i in range(len(values) - width + 1))
    return Spec("window", "best_window", "best_window(values: list[int]) -> int",
                {"en": f"returns the largest sum of {width} consecutive values, or 0 when there are fewer than "
                       f"{width} values",
                 "zh": f"返回任意 {width} 个连续值之和的最大值；值少于 {width} 个时返回 0"},
                solve, _int_lists(rng, -40, 40, 10))


def _recurrence(rng: random.Random) -> Spec:
    p, q, first, second = rng.randint(1, 4), rng.randint(-3, 3), rng.randint(0, 5), rng.randint(1, 7)
    modulus = rng.choice([97, 1000, 1009, 10007])
    def solve(n: int) -> int:
        a, b = first, second
        for _ in range(n):
            a, b = b, p * b + q * a
        return a % modulus
    return Spec("recurrence", "nth_term", "nth_term(n: int) -> int",
                {"en": f"returns term n (n >= 0) of the sequence with t(0) = {first}, t(1) = {second} and "
                       f"t(k) = {p} * t(k-1) + ({q}) * t(k-2), reduced modulo {modulus} (a result in 0..{modulus - 1})",
                 "zh": f"返回数列的第 n 项（n >= 0），其中 t(0) = {first}，t(1) = {second}，"
                       f"t(k) = {p} * t(k-1) + ({q}) * t(k-2)，结果对 {modulus} 取模（在 0..{modulus - 1} 之间）"},
                solve, [(n,) for n in [5, 0, 1, 2, rng.randint(10, 30), rng.randint(40, 80),
                                       rng.randint(100, 300), 500]])


def _brackets(rng: random.Random) -> Spec:
    pairs = rng.sample(["()", "[]", "{}", "<>"], rng.randint(2, 3))
    opening = {pair[0]: pair[1] for pair in pairs}
    def solve(text: str) -> int:
        stack: list[str] = []
        deepest = 0
        for char in text:
            if char in opening:
                stack.append(opening[char])
                deepest = max(deepest, len(stack))
            elif char in opening.values() and (not stack or stack.pop() != char):
                return -1
        return -1 if stack else deepest
    kinds = " ".join(pairs)
    return Spec("brackets", "nesting_depth", "nesting_depth(text: str) -> int",
                {"en": f"returns the deepest nesting of the bracket pairs {kinds} in text (other characters are "
                       "ignored), or -1 when those brackets are not balanced and properly nested",
                 "zh": f"返回文本中括号对 {kinds} 的最大嵌套深度（忽略其他字符）；这些括号不平衡或嵌套不正确时返回 -1"},
                solve, _words(rng, "".join(pairs) + "ab", 12))


def _coins(rng: random.Random) -> Spec:
    coins = sorted(rng.sample(range(2, 30), 3))
    def solve(amount: int) -> int:
        best = [0] + [-1] * amount
        for total in range(1, amount + 1):
            options = [best[total - c] for c in coins if c <= total and best[total - c] >= 0]
            best[total] = min(options) + 1 if options else -1
        return best[amount]
    return Spec("coins", "fewest_coins", "fewest_coins(amount: int) -> int",
                {"en": f"returns the fewest coins of values {coins} (any number of each) that add up to exactly "
                       "amount (amount >= 0), or -1 when no combination does",
                 "zh": f"返回用面值为 {coins} 的硬币（每种数量不限）恰好凑出 amount（amount >= 0）所需的最少硬币数；"
                       "凑不出时返回 -1"},
                solve, [(a,) for a in [coins[0] + coins[2], 0, 1, *rng.sample(range(2, 200), TESTS_PER_ITEM - 3)]])


def _edit(rng: random.Random) -> Spec:
    insert, delete, change = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 6)
    def solve(source: str, target: str) -> int:
        row = [j * insert for j in range(len(target) + 1)]
        for i, char in enumerate(source, 1):
            previous, row[0] = row[0], i * delete
            for j, other in enumerate(target, 1):
                previous, row[j] = row[j], min(row[j] + delete, row[j - 1] + insert,
                                               previous + (0 if char == other else change))
        return row[-1]
    words = _words(rng, "abcd", 7)
    return Spec("edit", "edit_cost", "edit_cost(source: str, target: str) -> int",
                {"en": f"returns the cheapest cost of turning source into target where inserting a character "
                       f"costs {insert}, deleting one costs {delete} and replacing one with another costs {change}",
                 "zh": f"返回把 source 变成 target 的最小代价：插入一个字符代价 {insert}，删除一个字符代价 {delete}，"
                       f"把一个字符替换成另一个代价 {change}"},
                solve, [(words[i][0], words[-1 - i][0]) for i in range(TESTS_PER_ITEM)])


FAMILIES: dict[int, tuple[Callable[[random.Random], Spec], ...]] = {
    1: (_affine, _multiples),
    2: (_rotate, _digit_power),
    3: (_run_length, _window),
    4: (_recurrence, _brackets),
    5: (_coins, _edit),
}
"""Level -> the function families an item of that level is drawn from."""

_PROMPT = {
    "en": ("Write a Python function `{signature}` that {rule}.\n\nExample: `{call}` returns `{result}`.\n\n"
           "Reply with the function, and any imports it needs, in one ```python code block."),
    "zh": ("编写一个 Python 函数 `{signature}`，它{rule}。\n\n例如：`{call}` 返回 `{result}`。\n\n"
           "请把这个函数（以及它需要的 import）放在一个 ```python 代码块中回复。"),
}


def tests_source(spec: Spec) -> str:
    """HumanEval-style tests: ``def check(candidate)`` asserting every case's value."""
    lines = ["def check(candidate):"]
    for args in spec.inputs:
        call = f"candidate({', '.join(map(repr, args))})"
        expected = spec.solve(*args)
        lines.append(f"    assert {call} == {expected!r}, {f'{call} should be {expected!r}'!r}")
    return "\n".join(lines) + "\n"


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One function to write at `level`, its constants drawn from `rng`."""
    spec = rng.choice(FAMILIES[level])(rng)
    example = spec.inputs[0]
    call = f"{spec.entry_point}({', '.join(map(repr, example))})"
    prompt = _PROMPT[language].format(signature=spec.signature, rule=spec.rule[language], call=call,
                                      result=repr(spec.solve(*example)))
    return Item(prompt=prompt, reference=tests_source(spec), scorer="code", template=spec.family,
                scorer_options={"entry_point": spec.entry_point},
                metadata={"entry_point": spec.entry_point, "family": spec.family})


register_generated(
    "coding",
    build_item,
    description="Write a Python function to a generated spec; hidden tests run in the sandbox",
    typical_answer_tokens=200,
    default_size=25,
    order=21,
    in_default_run=False,
)
