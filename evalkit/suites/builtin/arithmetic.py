"""Built-in suite ``arithmetic``: multi-step word problems with an exact numeric answer.

Every problem is a chain of operations on one running quantity (a stock of apples, a
batch of parcels, ...) told as a short story. The generator computes the answer with
exact fractions while it writes the story, and keeps the whole computation as an
expression in the sample's metadata so the answer can be re-checked independently.

Difficulty (1..5) controls the number of steps (1 at level 1, 5-6 at level 5), the size
of the numbers, which operations appear (percentages from level 3, prices and unit
changes from level 4, decimal prices and fees at level 5) and irrelevant facts that a
careless reader would use (from level 4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from evalkit.suites.base import Sample
from evalkit.suites.builtin import Item, generate_samples, register_generated


@dataclass(frozen=True)
class Terminal:
    """A closing step that changes what is counted (per basket, dollars, kilograms)."""

    kind: str
    """``share`` (÷ number of groups), ``pack`` (÷ group size), ``price`` (× money), ``convert``."""
    sentence: str
    question: str
    per_item: tuple[int, int] | None = None
    """For ``convert``: range of the per-item amount (grams, millilitres) multiplied in first."""
    factor: Fraction = Fraction(1)
    """For ``convert``: the unit change applied last (1/1000 for grams -> kilograms)."""


@dataclass(frozen=True)
class World:
    """One story template: the same quantity seen through start, middle and closing steps."""

    id: str
    subjects: tuple[tuple[str, str, str], ...]
    """(name, pronoun, possessive); Chinese templates use only the name."""
    direct: tuple[str, ...]
    """Start with ``{a}`` items."""
    product: tuple[str, ...]
    """Start with ``{a}`` containers of ``{b}`` items (one multiplication)."""
    gain: tuple[str, ...]
    loss: tuple[str, ...]
    percent_off: tuple[str, ...]
    question: tuple[str, ...]
    terminals: tuple[Terminal, ...]
    distractors: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Language:
    """What differs between the English and the Chinese suite besides the worlds."""

    worlds: tuple[World, ...]
    cost: tuple[str, str]
    """Post-sale step and its question: a fixed amount is paid out of the money."""
    fee: tuple[str, str]
    """Post-sale step and its question: a percentage fee is taken from the money."""
    instruction: str
    separator: str


# Level -> ranges for: direct start, containers, items per container, gains and losses.
_SCALE = {
    1: {"direct": (5, 30), "a": (2, 9), "b": (2, 12), "k": (2, 15)},
    2: {"direct": (20, 150), "a": (3, 20), "b": (4, 25), "k": (5, 60)},
    3: {"direct": (100, 900), "a": (6, 40), "b": (6, 40), "k": (10, 200)},
    4: {"direct": (500, 5000), "a": (12, 150), "b": (12, 60), "k": (40, 900)},
    5: {"direct": (2000, 50000), "a": (40, 600), "b": (12, 120), "k": (100, 5000)},
}
# Harder percentages need more care to apply exactly (12.5% of 2,344 ...).
_PERCENTS = {
    3: (10, 20, 25, 50),
    4: (10, 15, 20, 25, 30, 40, 60, 75),
    5: (Fraction(25, 2), 15, 35, 45, Fraction(125, 2), 8, 36, 24, 85, 65),
}
# Group sizes for sharing and packing, per level.
_GROUPS = {1: (2, 5), 2: (2, 10), 3: (2, 12), 4: (3, 30), 5: (6, 60)}
_FEES = (5, 8, 10, 12, 15, 20)


def generate(n: int, seed: int, language: str = "en", difficulty: int | None = None) -> list[Sample]:
    """``n`` word problems; the same arguments always give the same problems."""
    return generate_samples("arithmetic", build_item, n, seed, language, difficulty)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One word problem at ``level``; retries number draws until every step is exact."""
    lang = _LANGUAGES[language]
    for _ in range(500):
        problem = _try_problem(rng, level, lang, language)
        if problem is not None:
            return problem
    raise RuntimeError(f"arithmetic: no exact problem found at level {level}")  # pragma: no cover


register_generated(
    "arithmetic",
    build_item,
    description="Multi-step arithmetic word problems; exact numeric answer.",
    typical_answer_tokens=200,
    order=1,
)


class _Chain:
    """The running quantity, its expression, and the numbers a reader must use."""

    def __init__(self, start: int) -> None:
        self.value = Fraction(start)
        self.expression = str(start)
        self.operands: list[Fraction] = [Fraction(start)]
        self.steps = 0
        self.whole = True
        """Counting things: every intermediate value must be a whole number."""

    def apply(self, symbol: str, operand: Fraction, shown: bool = True) -> bool:
        result = _OPERATORS[symbol](self.value, Fraction(operand))
        if not self._acceptable(result):
            return False
        self.value = result
        self.expression = f"({self.expression} {symbol} {_plain(operand)})"
        self._record(operand, shown)
        return True

    def percent_off(self, percent: Fraction | int) -> bool:
        result = self.value * (100 - Fraction(percent)) / 100
        if not self._acceptable(result):
            return False
        self.value = result
        self.expression = f"({self.expression} * (100 - {_plain(percent)}) / 100)"
        self._record(percent, True)
        return True

    def _acceptable(self, result: Fraction) -> bool:
        if result <= 0:
            return False
        if self.whole:
            return result.denominator == 1
        return (result * 100).denominator == 1  # money and measures: at most 2 decimals

    def _record(self, operand: Fraction | int, shown: bool) -> None:
        self.steps += 1
        if shown:
            self.operands.append(Fraction(operand))


_OPERATORS = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
}


@dataclass
class _Draft:
    """A problem being written: its sentences, its chain, and the question so far."""

    rng: random.Random
    level: int
    lang: Language
    language: str
    world: World
    names: dict[str, str]
    chain: _Chain | None = None
    sentences: list[str] = field(default_factory=list)
    question: str = ""
    closing: str | None = None
    """Kind of the closing step, once written."""

    def say(self, template: str, **numbers: str) -> None:
        self.sentences.append(template.format(**self.names, **numbers))


def _try_problem(rng: random.Random, level: int, lang: Language, language: str) -> Item | None:
    world = rng.choice(lang.worlds)
    draft = _Draft(rng, level, lang, language, world, _names(rng.choice(world.subjects)))
    start, middle, terminal_kinds, post = _plan(rng, level)
    draft.question = rng.choice(world.question)
    if not _start(draft, start):
        return None
    for step in middle:
        if not _middle(draft, step):
            return None
    if terminal_kinds and not _terminal(draft, terminal_kinds):
        return None
    if post and not _post(draft):
        return None
    return _finish(draft)


def _plan(rng: random.Random, level: int) -> tuple[str, list[str], tuple[str, ...], bool]:
    """(start kind, middle steps, acceptable closing kinds, whether money is spent after)."""
    change = rng.choice(["gain", "loss"])
    if level == 1:
        return rng.choice([("direct", [change], (), False), ("product", [], (), False)])
    if level == 2:
        return rng.choice([
            ("product", [change], (), False),
            ("direct", rng.sample(["gain", "loss"], 2), (), False),
            ("direct", [change], ("share", "pack"), False),
        ])
    if level == 3:
        return rng.choice([
            ("product", rng.sample(["percent", change], 2), (), False),
            ("product", [change], ("share", "pack", "price"), False),
            ("direct", rng.sample(["percent", change], 2), ("share", "pack"), False),
        ])
    if level == 4:
        return ("product", rng.sample(["percent", change], 2), ("share", "pack", "price", "convert"), False)
    middle = rng.sample(["percent", "gain", "loss"], 3)
    return ("product", middle, ("share", "pack", "price", "convert"), True)


def _start(draft: _Draft, kind: str) -> bool:
    scale, rng = _SCALE[draft.level], draft.rng
    if kind == "direct":
        a = rng.randint(*scale["direct"])
        draft.chain = _Chain(a)
        draft.say(rng.choice(draft.world.direct), a=_count(a, draft.language))
        return True
    a, b = rng.randint(*scale["a"]), rng.randint(*scale["b"])
    draft.chain = _Chain(a)
    draft.chain.apply("*", Fraction(b))
    draft.say(rng.choice(draft.world.product), a=_count(a, draft.language), b=_count(b, draft.language))
    return True


def _middle(draft: _Draft, step: str) -> bool:
    chain, rng, world = draft.chain, draft.rng, draft.world
    assert chain is not None
    if step == "percent":
        exact = [p for p in _PERCENTS[draft.level] if (chain.value * p / 100).denominator == 1]
        if not exact:
            return False
        percent = rng.choice(exact)
        draft.say(rng.choice(world.percent_off), p=_plain(percent))
        return chain.percent_off(percent)
    low, high = _SCALE[draft.level]["k"]
    if step == "gain":
        k = rng.randint(low, high)
        draft.say(rng.choice(world.gain), k=_count(k, draft.language))
        return chain.apply("+", Fraction(k))
    high = min(high, int(chain.value) * 3 // 5)  # a loss never empties the stock
    if high < low:
        return False
    k = rng.randint(low, high)
    draft.say(rng.choice(world.loss), k=_count(k, draft.language))
    return chain.apply("-", Fraction(k))


def _terminal(draft: _Draft, kinds: tuple[str, ...]) -> bool:
    options = [t for t in draft.world.terminals if t.kind in kinds]
    if not options:
        return False
    terminal = draft.rng.choice(options)
    draft.question, draft.closing = terminal.question, terminal.kind
    if terminal.kind in ("share", "pack"):
        return _divide(draft, terminal)
    if terminal.kind == "price":
        return _price(draft, terminal)
    return _convert(draft, terminal)


def _divide(draft: _Draft, terminal: Terminal) -> bool:
    chain = draft.chain
    assert chain is not None
    low, high = _GROUPS[draft.level]
    divisors = [d for d in range(low, high + 1) if chain.value % d == 0 and chain.value != d]
    if not divisors:
        return False
    k = draft.rng.choice(divisors)
    draft.say(terminal.sentence, k=_count(k, draft.language))
    return chain.apply("/", Fraction(k))


def _price(draft: _Draft, terminal: Terminal) -> bool:
    chain = draft.chain
    assert chain is not None
    price = _draw_price(draft.rng, draft.level, draft.language)
    chain.whole = False
    draft.say(terminal.sentence, money=_money(price, draft.level, draft.language))
    return chain.apply("*", price)


def _convert(draft: _Draft, terminal: Terminal) -> bool:
    chain = draft.chain
    assert chain is not None
    chain.whole = False
    if terminal.per_item is not None:
        step = 5 if draft.level == 5 else 10
        low, high = terminal.per_item
        amounts = [g for g in range(low, high + 1, step) if _cents(chain.value * g * terminal.factor)]
        if not amounts:
            return False
        amount = draft.rng.choice(amounts)
        draft.say(terminal.sentence, k=_count(amount, draft.language))
        if not chain.apply("*", Fraction(amount)):
            return False
    elif terminal.sentence:
        draft.say(terminal.sentence)
    # The unit factor is general knowledge (or stated in the question), not a number in the story.
    if terminal.factor.denominator != 1:
        return chain.apply("/", Fraction(terminal.factor.denominator), shown=False)
    return chain.apply("*", terminal.factor, shown=False)


def _post(draft: _Draft) -> bool:
    """Level 5 money problems: something is paid out of the takings afterwards."""
    chain, rng = draft.chain, draft.rng
    assert chain is not None
    if draft.closing != "price" or chain.value < 20:
        return True  # nothing was sold, or too little to pay anything out of
    if rng.random() < 0.5:
        fees = [p for p in _FEES if _cents(chain.value * (100 - p) / 100)]
        if not fees:
            return False
        percent = rng.choice(fees)
        sentence, draft.question = draft.lang.fee
        draft.say(sentence, p=str(percent))
        return chain.percent_off(Fraction(percent))
    cost = rng.randint(max(1, int(chain.value) // 10), max(2, int(chain.value) * 2 // 5))
    sentence, draft.question = draft.lang.cost
    draft.say(sentence, money=_money(Fraction(cost), draft.level, draft.language))
    return chain.apply("-", Fraction(cost))


def _finish(draft: _Draft) -> Item:
    chain, rng = draft.chain, draft.rng
    assert chain is not None
    sentences = list(draft.sentences)
    distractors = _distractors(draft)
    for distractor in distractors:
        position = rng.randint(1, len(sentences))  # never before the opening sentence
        sentences.insert(position, distractor)
    story = draft.lang.separator.join(sentences)
    question = draft.question.format(**draft.names)
    prompt = f"{story}{draft.lang.separator}{question}\n\n{draft.lang.instruction}"
    answer = chain.value
    return Item(
        prompt=prompt,
        reference=int(answer) if answer.denominator == 1 else float(answer),
        scorer="numeric",
        template=draft.world.id,
        metadata={
            "expression": chain.expression,
            "answer": _plain(answer),
            "steps": chain.steps,
            "operands": [_plain(x) for x in chain.operands],
            "answer_kind": _ANSWER_KINDS[draft.closing],
            "distractors": len(distractors),
        },
    )


_ANSWER_KINDS = {None: "count", "share": "count", "pack": "count", "price": "money", "convert": "measure"}


def _distractors(draft: _Draft) -> list[str]:
    """Irrelevant facts with numbers in them, one at level 4 and two at level 5."""
    count = draft.level - 3 if draft.level >= 4 else 0
    pool = list(draft.world.distractors)
    chosen = draft.rng.sample(pool, min(count, len(pool)))
    low, high = _SCALE[draft.level]["k"]
    return [
        template.format(
            **draft.names,
            k=_count(draft.rng.randint(low, high), draft.language),
            money=_money(_draw_price(draft.rng, draft.level, draft.language), draft.level, draft.language),
        )
        for template in chosen
    ]


def _draw_price(rng: random.Random, level: int, language: str) -> Fraction:
    if level <= 3:
        return Fraction(rng.randint(2, 12))
    if language == "zh":  # Chinese shop prices are usually whole or one decimal (3.5元, 12.8元)
        return Fraction(rng.randint(3, 30), 2) if level == 4 else Fraction(rng.randint(15, 199), 10)
    return Fraction(rng.randint(4, 40), 4) if level == 4 else Fraction(rng.randint(21, 999), 100)


def _names(subject: tuple[str, str, str]) -> dict[str, str]:
    name, pronoun, possessive = subject
    return {"name": name, "they": pronoun, "They": pronoun.capitalize(), "their": possessive}


def _cents(value: Fraction) -> bool:
    return value > 0 and (value * 100).denominator == 1


def _plain(value: Fraction | int) -> str:
    """Exact decimal text of a value with a finite decimal expansion: 45, 12.5, 0.35."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".")


def _count(value: int, language: str) -> str:
    return f"{value:,}" if language == "en" else str(value)


def _money(value: Fraction, level: int, language: str) -> str:
    if language == "zh":
        return f"{_plain(value)}元"
    if value.denominator == 1 and level <= 3:
        return f"${int(value):,}"
    return f"${Decimal(value.numerator) / Decimal(value.denominator):,.2f}"


_PEOPLE = (("Maya", "she", "her"), ("Daniel", "he", "his"), ("Priya", "she", "her"), ("Tom", "he", "his"))
_FARMERS = (("Ana", "she", "her"), ("Lucas", "he", "his"), ("Grace", "she", "her"), ("Omar", "he", "his"))

_EN_WORLDS: tuple[World, ...] = (
    World(
        id="orchard",
        subjects=_PEOPLE,
        direct=("{name} picked {a} apples in the orchard this morning.",
                "{name} has {a} apples in the farm shop's storeroom."),
        product=("{name} picked {a} crates of apples, and each crate holds {b} apples.",
                 "{name} harvested {a} crates of apples with {b} apples in every crate."),
        gain=("{They} then picked another {k} apples from the last row of trees.",
              "A neighbour dropped off {k} more apples."),
        loss=("{k} of the apples were bruised and had to be thrown away.",
              "{They} used {k} apples to bake pies for the weekend."),
        percent_off=("{They} gave {p}% of the apples {they} had at that point to the food bank.",
                     "A cider maker bought {p}% of the apples {name} had at that point."),
        question=("How many apples does {name} have now?", "How many apples are left?"),
        terminals=(
            Terminal("share", "{They} packed all the remaining apples equally into {k} baskets.",
                     "How many apples went into each basket?"),
            Terminal("pack", "{They} packed the remaining apples into bags of {k}, filling every bag.",
                     "How many bags did {they} fill?"),
            Terminal("price", "{They} sold all the remaining apples at the market for {money} each.",
                     "How much money, in dollars, did {they} receive?"),
            Terminal("convert", "Each of the remaining apples weighs {k} grams.",
                     "What is the total weight of the remaining apples in kilograms?", (150, 250),
                     Fraction(1, 1000)),
        ),
        distractors=("The orchard has {k} apple trees.", "Last season {name} picked {k} pears.",
                     "{name}'s cousin picked {k} apples from another orchard.",
                     "A jar of apple jam sells for {money} at the market."),
    ),
    World(
        id="bakery",
        subjects=(("Rosa's Bakery", "it", "its"), ("Maple Street Bakery", "it", "its"),
                  ("Golden Crust", "it", "its")),
        direct=("{name} baked {a} muffins this morning.",),
        product=("{name} baked {a} trays of muffins, with {b} muffins on each tray.",
                 "This morning {name} baked {a} batches of muffins of {b} muffins each."),
        gain=("It then baked another {k} muffins.", "A second oven produced {k} more muffins."),
        loss=("{k} muffins came out burnt and were thrown away.", "Customers at the counter bought {k} muffins."),
        percent_off=("{p}% of the muffins it had at that point went to a café that had ordered them.",
                     "A school picked up {p}% of the muffins the bakery had at that point."),
        question=("How many muffins does {name} have now?",),
        terminals=(
            Terminal("share", "The remaining muffins were shared equally among {k} hospital wards.",
                     "How many muffins did each ward get?"),
            Terminal("pack", "The remaining muffins were packed in boxes of {k}, with no muffin left over.",
                     "How many boxes were filled?"),
            Terminal("price", "It sold all the remaining muffins for {money} each.",
                     "How much money, in dollars, did those muffins bring in?"),
            Terminal("convert", "Each muffin weighs {k} grams.",
                     "What do the remaining muffins weigh in total, in kilograms?", (80, 140),
                     Fraction(1, 1000)),
        ),
        distractors=("{name} opened {k} days ago in its new location.", "A loaf of rye bread costs {money} there.",
                     "Across the street, another bakery sold {k} muffins yesterday."),
    ),
    World(
        id="warehouse",
        subjects=(("Northside Depot", "it", "its"), ("Lakeview Distribution", "it", "its")),
        direct=("{name} has {a} bottles of water in stock.",),
        product=("{name} received {a} cartons of bottled water, each holding {b} bottles.",
                 "A truck delivered {a} cartons of water to {name}; every carton contains {b} bottles."),
        gain=("A late delivery added {k} bottles.", "{k} bottles were returned unopened and put back into stock."),
        loss=("{k} bottles were found leaking and were thrown away.", "{k} bottles were used at a company event."),
        percent_off=("{name} shipped {p}% of the bottles it had at that point to its city branch.",),
        question=("How many bottles does {name} have now?",),
        terminals=(
            Terminal("share", "The remaining bottles were split equally among {k} shops.",
                     "How many bottles did each shop receive?"),
            Terminal("pack", "The remaining bottles were repacked into cases of {k}, filling every case.",
                     "How many cases were filled?"),
            Terminal("price", "It sold the remaining bottles to a retailer at {money} per bottle.",
                     "How much money, in dollars, did the retailer pay?"),
            Terminal("convert", "Each bottle holds {k} millilitres of water.",
                     "How many litres of water are in the remaining bottles altogether?", (250, 750),
                     Fraction(1, 1000)),
        ),
        distractors=("Its sister depot stocks {k} bottles of sparkling water.",
                     "A carton of orange juice costs {money} wholesale.",
                     "Last month {name} handled {k} cartons of soft drinks."),
    ),
    World(
        id="printing",
        subjects=(("Inkwell Press", "it", "its"), ("Redfern Publishing", "it", "its")),
        direct=("{name} printed {a} copies of a new novel.",),
        product=("{name} printed {a} boxes of a new cookbook, with {b} copies in each box.",),
        gain=("A reprint added {k} more copies.", "A bookshop returned {k} unsold copies."),
        loss=("{k} copies had printing errors and were recycled.", "{k} copies were damaged in a storeroom leak."),
        percent_off=("{p}% of the copies it had at that point were sent out free to reviewers.",),
        question=("How many copies does {name} have now?",),
        terminals=(
            Terminal("share", "The remaining copies were divided equally among {k} bookshops.",
                     "How many copies did each bookshop get?"),
            Terminal("pack", "The remaining copies were packed in parcels of {k}, filling every parcel.",
                     "How many parcels were packed?"),
            Terminal("price", "It sold the remaining copies to a wholesaler at {money} per copy.",
                     "How much money, in dollars, did the sale bring in?"),
            Terminal("convert", "Each copy weighs {k} grams.",
                     "What is the total weight of the remaining copies in kilograms?", (300, 900),
                     Fraction(1, 1000)),
        ),
        distractors=("The book has {k} pages.", "The author's previous book sold {k} copies.",
                     "The cover price printed on the book is {money}."),
    ),
    World(
        id="eggs",
        subjects=_FARMERS,
        direct=("{name} collected {a} eggs from {their} hens this week.",),
        product=("{name}'s farm collected {a} eggs a day for {b} days.",
                 "{name} filled {a} trays with eggs, {b} eggs to a tray."),
        gain=("{They} bought {k} eggs from a neighbouring farm.",),
        loss=("{k} eggs cracked on the way to the shed.", "{They} used {k} eggs for baking."),
        percent_off=("{They} sold {p}% of the eggs {they} had at that point to a local café.",),
        question=("How many eggs does {name} have now?",),
        terminals=(
            Terminal("share", "{They} shared the remaining eggs equally among {k} families.",
                     "How many eggs did each family get?"),
            Terminal("pack", "{They} packed the remaining eggs into cartons of {k}, filling every carton.",
                     "How many cartons did {they} fill?"),
            Terminal("price", "{They} sold the remaining eggs at the market for {money} each.",
                     "How much money, in dollars, did {they} make?"),
            Terminal("convert", "Each egg weighs {k} grams.",
                     "What is the total weight of the remaining eggs in kilograms?", (50, 70),
                     Fraction(1, 1000)),
        ),
        distractors=("{name} keeps {k} hens.", "Feed for the hens costs {money} a bag.",
                     "{name}'s neighbour collected {k} eggs last week."),
    ),
    World(
        id="pencils",
        subjects=(("Ms. Rivera", "she", "her"), ("Mr. Okafor", "he", "his"), ("Mrs. Lindqvist", "she", "her")),
        direct=("{name} ordered {a} pencils for the school.",),
        product=("{name} ordered {a} packs of pencils for the school, with {b} pencils in each pack.",),
        gain=("{They} found another {k} pencils in the supply cupboard.",),
        loss=("{k} pencils arrived broken.", "{They} handed out {k} pencils during exams."),
        percent_off=("{They} gave {p}% of the pencils {they} had at that point to the art club.",),
        question=("How many pencils does {name} have now?",),
        terminals=(
            Terminal("share", "{They} divided the remaining pencils equally among {k} classrooms.",
                     "How many pencils did each classroom get?"),
            Terminal("pack", "{They} bundled the remaining pencils in bundles of {k}, with none left over.",
                     "How many bundles did {they} make?"),
            Terminal("price", "The remaining pencils were sold at the school fair for {money} each.",
                     "How much money, in dollars, did the pencils raise?"),
        ),
        distractors=("The school has {k} students.", "A box of crayons costs {money}.",
                     "The art club already owns {k} crayons."),
    ),
)


def _who(*names: str) -> tuple[tuple[str, str, str], ...]:
    """Chinese subjects: the templates repeat the name instead of using pronouns."""
    return tuple((name, "", "") for name in names)


_ZH_WORLDS: tuple[World, ...] = (
    World(
        id="fruit-shop",
        subjects=_who("王阿姨", "老陈", "李老板"),
        direct=("{name}的水果店早上进了{a}斤砂糖橘。",),
        product=("{name}的水果店早上进了{a}箱砂糖橘，每箱{b}斤。", "{name}从批发市场拉回{a}筐砂糖橘，每筐{b}斤。"),
        gain=("供货商又送来{k}斤。", "{name}又从批发市场补了{k}斤。"),
        loss=("有{k}斤磕坏了，只能扔掉。", "随后卖出了{k}斤。"),
        percent_off=("接着一家单位团购，买走了当时店里砂糖橘的{p}%。",),
        question=("店里现在还有多少斤砂糖橘？",),
        terminals=(
            Terminal("share", "{name}把剩下的砂糖橘平均装成{k}袋。", "每袋装多少斤？"),
            Terminal("pack", "{name}把剩下的砂糖橘按每袋{k}斤分装，正好装完。", "一共装了多少袋？"),
            Terminal("price", "剩下的砂糖橘全部按每斤{money}卖出。", "这些砂糖橘一共卖了多少元？"),
            Terminal("convert", "", "剩下的砂糖橘一共是多少公斤？", None, Fraction(1, 2)),
        ),
        distractors=("隔壁水果店今天卖了{k}斤苹果。", "砂糖橘的进价是每斤{money}。", "店里还有{k}个西瓜。"),
    ),
    World(
        id="parcel-station",
        subjects=_who("小刘", "周师傅", "陈姐"),
        direct=("{name}负责的快递驿站早上有{a}件包裹待派送。",),
        product=("早上有{a}辆货车开到{name}负责的快递驿站，每辆车卸下{b}件包裹。",),
        gain=("随后又到了{k}件包裹。",),
        loss=("有{k}件包裹被收件人自己取走了。", "{k}件包裹地址有误，被退回了寄件网点。"),
        percent_off=("快递员接着派送出了当时站内包裹的{p}%。",),
        question=("驿站里现在还有多少件包裹？",),
        terminals=(
            Terminal("share", "剩下的包裹平均分给{k}名快递员派送。", "每名快递员要派送多少件？"),
            Terminal("pack", "剩下的包裹每{k}件装一个周转箱，正好装完。", "一共装了多少个周转箱？"),
            Terminal("convert", "剩下的包裹每件重{k}克。", "这些包裹一共重多少公斤？", (200, 900), Fraction(1, 1000)),
        ),
        distractors=("隔壁驿站今天到了{k}件包裹。", "昨天驿站一共处理了{k}件包裹。", "寄一件同城快递要{money}。"),
    ),
    World(
        id="bun-shop",
        subjects=_who("张师傅", "刘阿姨", "老王"),
        direct=("{name}的包子铺早上蒸了{a}个肉包。",),
        product=("{name}的包子铺早上蒸了{a}笼肉包，每笼{b}个。",),
        gain=("接着又加蒸了{k}个。",),
        loss=("随后卖出了{k}个。", "有{k}个蒸破了皮，没法卖。"),
        percent_off=("附近一家公司订走了当时店里肉包的{p}%。",),
        question=("现在还剩多少个肉包？",),
        terminals=(
            Terminal("share", "剩下的肉包平均装进{k}个保温箱。", "每个保温箱装多少个？"),
            Terminal("pack", "剩下的肉包每{k}个装一袋，正好装完。", "一共装了多少袋？"),
            Terminal("price", "剩下的肉包按每个{money}全部卖完。", "这些肉包一共卖了多少元？"),
            Terminal("convert", "每个肉包重{k}克。", "剩下的肉包一共重多少公斤？", (80, 130), Fraction(1, 1000)),
        ),
        distractors=("一笼素包卖{money}。", "{name}的包子铺已经开了{k}天。", "昨天一共卖出了{k}个菜包。"),
    ),
    World(
        id="tea-coop",
        subjects=_who("林师傅", "吴大姐", "杨会计"),
        direct=("茶叶合作社今天收了{a}公斤鲜叶，由{name}负责记账。",),
        product=("{name}所在的茶叶合作社今天收了{a}户茶农的鲜叶，每户{b}公斤。",),
        gain=("又有茶农送来{k}公斤。",),
        loss=("有{k}公斤鲜叶淋了雨，不能用了。",),
        percent_off=("挑拣时去掉了当时鲜叶重量的{p}%（老叶和茶梗）。",),
        question=("合作社现在可用的鲜叶还有多少公斤？",),
        terminals=(
            Terminal("share", "剩下的鲜叶平均摊放在{k}个竹匾里。", "每个竹匾摊放多少公斤？"),
            Terminal("price", "剩下的鲜叶全部按每公斤{money}卖给茶厂。", "这批鲜叶一共卖了多少元？"),
            Terminal("convert", "", "剩下的鲜叶一共是多少斤？", None, Fraction(2)),
        ),
        distractors=("合作社的茶园一共有{k}亩。", "去年的明前茶卖到每斤{money}。", "合作社有{k}名社员。"),
    ),
    World(
        id="supermarket-eggs",
        subjects=_who("惠民超市", "社区超市", "家家福超市"),
        direct=("{name}早上到货{a}个鸡蛋。",),
        product=("{name}早上到货{a}托鸡蛋，每托{b}个。",),
        gain=("随后又补货{k}个。",),
        loss=("搬运时碎了{k}个。", "接着卖掉了{k}个。"),
        percent_off=("然后卖掉了当时鸡蛋总数的{p}%。",),
        question=("{name}现在还有多少个鸡蛋？",),
        terminals=(
            Terminal("pack", "剩下的鸡蛋每{k}个装一盒，正好装完。", "一共装了多少盒？"),
            Terminal("price", "剩下的鸡蛋按每个{money}全部卖出。", "这些鸡蛋一共卖了多少元？"),
            Terminal("convert", "每个鸡蛋重{k}克。", "剩下的鸡蛋一共重多少斤？（1斤=500克）", (50, 70),
                     Fraction(1, 500)),
        ),
        distractors=("一盒牛奶卖{money}。", "{name}今天还到货{k}盒牛奶。", "{name}的冷柜能放{k}盒酸奶。"),
    ),
    World(
        id="school-books",
        subjects=_who("实验小学", "阳光中学", "育才小学"),
        direct=("{name}的图书馆新购进{a}本图书。",),
        product=("{name}的图书馆新购进{a}套丛书，每套{b}本。",),
        gain=("家长委员会又捐赠了{k}本。",),
        loss=("有{k}本在运输中破损，退回了书店。",),
        percent_off=("图书馆把当时这批书的{p}%放进了教师阅览室。",),
        question=("这批书现在还有多少本可以给学生借阅？",),
        terminals=(
            Terminal("share", "剩下的书平均分给{k}个班级的图书角。", "每个班级分到多少本？"),
            Terminal("pack", "剩下的书每{k}本捆成一捆，正好捆完。", "一共捆成多少捆？"),
            Terminal("convert", "每本书重{k}克。", "剩下的书一共重多少公斤？", (200, 600), Fraction(1, 1000)),
        ),
        distractors=("{name}共有{k}名学生。", "去年图书馆一共借出了{k}本书。", "一本新华字典的定价是{money}。"),
    ),
)


_LANGUAGES = {
    "en": Language(
        worlds=_EN_WORLDS,
        cost=("Out of that money, {name} paid {money} for transport.",
              "How much money, in dollars, was left after paying for transport?"),
        fee=("A {p}% commission was deducted from that money.",
             "How much money, in dollars, did {name} keep after the commission?"),
        instruction='Work it out, then give the final answer on the last line as "Answer: <number>" '
                    "(just the number, no units).",
        separator=" ",
    ),
    "zh": Language(
        worlds=_ZH_WORLDS,
        cost=("从这笔钱里还要付{money}的运费。", "付完运费后还剩多少元？"),
        fee=("平台要从这笔钱里抽取{p}%的服务费。", "扣掉服务费后实际到手多少元？"),
        instruction="请写出计算过程，最后一行按“答案：<数字>”的格式给出最终结果（只写数字，不带单位）。",
        separator="",
    ),
}
