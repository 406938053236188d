"""Built-in suite ``instructions``: short writing tasks with constraints a program can verify.

Each item is a writing task on one topic plus 1-4 constraints (one per key of the
``constraints`` scorer's reference): length in words (Chinese: in CJK characters),
keywords to use, words to avoid, a format (bullets, numbered list, JSON, all capitals or
all lower case), an exact number of bullets or paragraphs, and an exact opening or
closing phrase. Constraints are drawn so they never contradict each other, and each is
stated in the prompt exactly as it will be checked.

Difficulty sets the number of constraint keys (1, 2, 3, 4, 4) and how demanding they
are: level 4 always has a narrow length range or words to avoid, level 5 both, with the
words to avoid being the ones the topic invites (write about the coffee machine without
"coffee").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evalkit.suites.base import Sample
from evalkit.suites.builtin import Item, generate_samples, register_generated

# Every key this suite can put in a reference; all are keys of the constraints scorer.
CONSTRAINT_KEYS = ("min_words", "max_words", "min_chars", "max_chars", "must_include", "must_not_include",
                   "format", "num_bullets", "starts_with", "ends_with", "num_paragraphs")

_KEY_BUDGET = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4}


@dataclass(frozen=True)
class Topic:
    """A writing task and the words and phrases constraints on it can use."""

    id: str
    task: str
    keywords: tuple[str, ...]
    """Words that fit the task naturally, to require."""
    tempting: tuple[str, ...]
    """Words the task invites, to forbid at high levels."""
    openers: tuple[str, ...]
    """Natural first sentences, for ``starts_with``."""
    closers: tuple[str, ...]
    """Natural last sentences, for ``ends_with``."""


@dataclass
class _Draft:
    """Constraints chosen so far for one item, with their sentences for the prompt."""

    rng: random.Random
    level: int
    language: str
    topic: Topic
    reference: dict[str, Any] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


# A kind -> the kinds it cannot be combined with (checked in both directions). json, bullets,
# numbered and case all set the single ``format`` key; the rest cannot be met together
# (a bulleted answer cannot open with a sentence, a JSON object cannot end with one).
_CONFLICTS = {
    "json": {"bullets", "numbered", "case", "num_bullets", "num_paragraphs", "starts_with", "ends_with"},
    "bullets": {"numbered", "case", "num_paragraphs", "starts_with"},
    "numbered": {"case", "num_bullets", "num_paragraphs", "starts_with"},
    "case": set(),
    "num_bullets": {"num_paragraphs"},
    "keywords": set(),
    "forbidden": set(),
    "length": set(),
    "starts_with": set(),
    "ends_with": set(),
    "num_paragraphs": set(),
}
# Keys each kind adds; None: one bound or a two-key range, decided when it is drawn.
_KEYS_OF_KIND = {"length": None, "keywords": 1, "forbidden": 1, "json": 1, "bullets": 1, "numbered": 1,
                 "case": 1, "num_bullets": 1, "starts_with": 1, "ends_with": 1, "num_paragraphs": 1}


def generate(n: int, seed: int, language: str = "en", difficulty: int | None = None) -> list[Sample]:
    """``n`` writing tasks with constraints; the same arguments always give the same tasks."""
    return generate_samples("instructions", build_item, n, seed, language, difficulty)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One writing task at ``level`` with exactly ``_KEY_BUDGET[level]`` constraint keys."""
    text = _TEXT[language]
    while True:
        draft = _Draft(rng, level, language, rng.choice(text.topics))
        if _fill(draft):
            break
    return Item(
        prompt=_prompt(draft, text),
        reference=draft.reference,
        scorer="constraints",
        template=draft.topic.id,
        metadata={"topic": draft.topic.id, "constraint_kinds": list(draft.kinds)},
    )


register_generated(
    "instructions",
    build_item,
    description="Writing tasks with verifiable constraints (length, format, keywords).",
    typical_answer_tokens=180,
    order=4,
)


def _fill(draft: _Draft) -> bool:
    """Add constraints until the key budget is met; False when this draw cannot meet it."""
    budget = _KEY_BUDGET[draft.level]
    required = {4: [draft.rng.choice(["length", "forbidden"])], 5: ["length", "forbidden"]}.get(draft.level, [])
    pool = [kind for kind in _pool(draft) if kind not in required]
    for kind in required + draft.rng.sample(pool, len(pool)):
        keys = _key_count(kind, draft, budget - len(draft.reference))
        if keys is None or _conflicts(kind, draft.kinds) or not _BUILDERS[kind](draft, keys):
            continue
        draft.kinds.append(kind)
        if len(draft.reference) == budget:
            return True
    return False


def _pool(draft: _Draft) -> list[str]:
    kinds = ["keywords", "length", "bullets", "numbered", "starts_with", "json", "num_bullets", "ends_with",
             "num_paragraphs"]
    if draft.language == "en":
        kinds.append("case")  # Chinese has no letter case
    if draft.level >= 3:
        kinds.append("forbidden")
    if draft.level == 1:  # level 1: one plain requirement
        kinds = [k for k in kinds if k in ("keywords", "length", "bullets", "numbered", "starts_with", "case")]
    return kinds


def _key_count(kind: str, draft: _Draft, room: int) -> int | None:
    """How many keys the kind will add here (a length range takes two), None if it does not fit."""
    fixed = _KEYS_OF_KIND[kind]
    if fixed is not None:
        return fixed if fixed <= room else None
    if room <= 0:
        return None
    wants_range = draft.level >= 4 or (draft.level >= 2 and draft.rng.random() < 0.5)
    return 2 if wants_range and room >= 2 else 1


def _conflicts(kind: str, chosen: list[str]) -> bool:
    return any(kind in _CONFLICTS[other] or other in _CONFLICTS[kind] for other in chosen)


# ---------------------------------------------------------------- builders
# Each adds its keys and prompt sentence and returns True, or returns False (adding nothing)
# when it cannot fit the constraints already chosen.


def _length(draft: _Draft, keys: int) -> bool:
    rng, level, text = draft.rng, draft.level, _TEXT[draft.language]
    low_key, high_key = ("min_words", "max_words") if draft.language == "en" else ("min_chars", "max_chars")
    scale = 1 if draft.language == "en" else 2  # Chinese characters per English word, roughly
    if keys == 2:
        width = {2: 80, 3: 60, 4: 35, 5: rng.choice((10, 15, 20))}[level] * scale
        low = rng.randrange(40, 121, 5) * scale
        draft.reference.update({low_key: low, high_key: low + width})
        draft.sentences.append(text.length_range.format(low=low, high=low + width))
    elif rng.random() < 0.5:
        high = rng.randrange(80, 201, 10) * scale
        draft.reference[high_key] = high
        draft.sentences.append(text.at_most.format(high=high))
    else:
        low = rng.randrange(40, 101, 10) * scale
        draft.reference[low_key] = low
        draft.sentences.append(text.at_least.format(low=low))
    return True


def _keywords(draft: _Draft, keys: int) -> bool:
    count = {1: 1, 2: 1, 3: 2, 4: 3, 5: 3}[draft.level]
    usable = [w for w in draft.topic.keywords if not _clashes(w, draft.reference.get("must_not_include", []))]
    if len(usable) < count:
        return False
    words = draft.rng.sample(usable, count)
    draft.reference["must_include"] = words
    draft.sentences.append(_sentence(draft.language, "include", words))
    return True


def _forbidden(draft: _Draft, keys: int) -> bool:
    # The words the topic invites; level 5 forbids two of them.
    count = 2 if draft.level == 5 else 1
    usable = [w for w in draft.topic.tempting if not _clashes(w, _required_text(draft))]
    if len(usable) < count:
        return False
    words = draft.rng.sample(usable, count)
    draft.reference["must_not_include"] = words
    draft.sentences.append(_sentence(draft.language, "exclude", words))
    return True


def _format(value: str) -> Callable[[_Draft, int], bool]:
    def build(draft: _Draft, keys: int) -> bool:
        draft.reference["format"] = value
        draft.sentences.append(getattr(_TEXT[draft.language], value))
        return True

    return build


def _case(draft: _Draft, keys: int) -> bool:
    value = draft.rng.choice(("uppercase", "lowercase"))
    draft.reference["format"] = value
    draft.sentences.append(getattr(_TEXT[draft.language], value))
    _recase_phrases(draft)
    return True


def _num_bullets(draft: _Draft, keys: int) -> bool:
    count = draft.rng.randint(3, 6)
    draft.reference["num_bullets"] = count
    draft.sentences.append(_TEXT[draft.language].num_bullets.format(n=count))
    return True


def _num_paragraphs(draft: _Draft, keys: int) -> bool:
    count = draft.rng.randint(2, 4)
    draft.reference["num_paragraphs"] = count
    draft.sentences.append(_TEXT[draft.language].num_paragraphs.format(n=count))
    return True


def _phrase(key: str, pool: str) -> Callable[[_Draft, int], bool]:
    def build(draft: _Draft, keys: int) -> bool:
        forbidden = draft.reference.get("must_not_include", [])
        usable = [p for p in getattr(draft.topic, pool) if not any(w.casefold() in p.casefold() for w in forbidden)]
        if not usable:
            return False
        phrase = _cased(draft.rng.choice(usable), draft.reference.get("format"))
        draft.reference[key] = phrase
        draft.sentences.append(getattr(_TEXT[draft.language], key).format(phrase=phrase))
        return True

    return build


def _recase_phrases(draft: _Draft) -> None:
    """An opening or closing phrase chosen before a case rule must follow it (checks are case-sensitive)."""
    for key in ("starts_with", "ends_with"):
        if key in draft.reference:
            old = draft.reference[key]
            draft.reference[key] = _cased(old, draft.reference["format"])
            draft.sentences = [s.replace(old, draft.reference[key]) for s in draft.sentences]


def _cased(phrase: str, rule: str | None) -> str:
    return phrase.upper() if rule == "uppercase" else phrase.lower() if rule == "lowercase" else phrase


def _clashes(word: str, others: list[str]) -> bool:
    """Checks are substring checks, so a required word must not contain a forbidden one or vice versa."""
    word = word.casefold()
    return any(word in other.casefold() or other.casefold() in word for other in others)


def _required_text(draft: _Draft) -> list[str]:
    return list(draft.reference.get("must_include", [])) + [
        draft.reference[key] for key in ("starts_with", "ends_with") if key in draft.reference
    ]


def _sentence(language: str, which: str, words: list[str]) -> str:
    """The keyword sentence, singular or plural: 'Use the word "x".' / 'Use the words "x" and "y" ...'."""
    text = _TEXT[language]
    template = getattr(text, which + ("_one" if len(words) == 1 else ""))
    if language == "zh":
        return template.format(words="、".join(f"“{w}”" for w in words))
    quoted = [f'"{w}"' for w in words]
    joiner = " and " if which == "include" else " or "
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + joiner + quoted[-1]
    return template.format(words=listed)


_BUILDERS: dict[str, Callable[[_Draft, int], bool]] = {
    "length": _length,
    "keywords": _keywords,
    "forbidden": _forbidden,
    "json": _format("json_object"),
    "bullets": _format("bullets"),
    "numbered": _format("numbered"),
    "case": _case,
    "num_bullets": _num_bullets,
    "num_paragraphs": _num_paragraphs,
    "starts_with": _phrase("starts_with", "openers"),
    "ends_with": _phrase("ends_with", "closers"),
}


# Order of requirements in the prompt: what to write, then how it looks, then wording details.
_PROMPT_ORDER = ("length", "json", "bullets", "numbered", "num_bullets", "num_paragraphs", "case", "keywords",
                 "forbidden", "starts_with", "ends_with")


def _prompt(draft: _Draft, text: _Text) -> str:
    pairs = sorted(zip(draft.kinds, draft.sentences), key=lambda pair: _PROMPT_ORDER.index(pair[0]))
    sentences = [sentence for _, sentence in pairs]
    if len(sentences) == 1:
        gap = " " if draft.language == "en" else ""
        return f"{draft.topic.task}{gap}{sentences[0]}"
    listing = "\n".join(f"- {sentence}" for sentence in sentences)
    return f"{draft.topic.task}\n\n{text.requirements}\n{listing}"


# ---------------------------------------------------------------- texts


@dataclass(frozen=True)
class _Text:
    topics: tuple[Topic, ...]
    requirements: str
    length_range: str
    at_most: str
    at_least: str
    include: str
    include_one: str
    exclude: str
    exclude_one: str
    json_object: str
    bullets: str
    numbered: str
    uppercase: str
    lowercase: str
    num_bullets: str
    num_paragraphs: str
    starts_with: str
    ends_with: str


_EN_TOPICS = (
    Topic("coffee-machine", "Write a note for new colleagues explaining how to use the office coffee machine.",
          ("descale", "grinder", "mug", "drip tray", "milk frother"), ("coffee", "espresso", "caffeine"),
          ("Welcome to the team!", "Quick guide for newcomers:"),
          ("Thanks for keeping the kitchen tidy.", "Enjoy your break.")),
    Topic("houseplants", "Give advice on keeping houseplants healthy through the winter.",
          ("humidity", "radiator", "drainage", "windowsill", "repotting"), ("water", "sunlight", "green"),
          ("Winter is hard on houseplants.", "Here is what works for me:"),
          ("Your plants will thank you.", "Spring is not far away.")),
    Topic("bike-commute", "Write a short piece encouraging people to cycle to work.",
          ("helmet", "traffic", "fitness", "parking", "commute"), ("bike", "bicycle", "healthy"),
          ("Imagine skipping the traffic jam.", "Why not try it next week?"),
          ("See you on the road.", "Give it a try this week.")),
    Topic("backpack", "Write a product description for a waterproof hiking backpack.",
          ("zipper", "padded", "litres", "laptop", "reflective"), ("waterproof", "durable", "perfect"),
          ("Meet the Ridgeline 30.", "Built for long days on the trail."),
          ("Order yours today.", "Adventure is waiting.")),
    Topic("day-off-email", "Write an email to your manager asking for a day off next Friday.",
          ("deadline", "handover", "Friday", "colleague", "calendar"), ("sorry", "vacation", "please"),
          ("Dear Ms. Patel,", "Hi Daniel,"),
          ("Thanks in advance.", "Thank you for considering it.")),
    Topic("restaurant-review", "Write a review of a small neighbourhood restaurant you visited recently.",
          ("waiter", "dessert", "booking", "portion", "menu"), ("delicious", "amazing", "tasty"),
          ("I finally tried the corner bistro.", "Last Saturday we went out for dinner."),
          ("Four stars from me.", "I will be back.")),
    Topic("rainbow", "Explain to a ten-year-old how a rainbow forms.",
          ("droplet", "prism", "angle", "spectrum", "reflection"), ("colour", "sunlight", "beautiful"),
          ("Have you ever wondered about rainbows?", "Here is a little secret about rainbows."),
          ("Look for one after the next shower!", "Now you know the secret.")),
    Topic("interview-tips", "Give tips for preparing for a job interview.",
          ("research", "examples", "questions", "punctual", "posture"), ("confident", "nervous", "important"),
          ("Preparation beats talent.", "Here is my checklist:"),
          ("Good luck!", "You have got this.")),
    Topic("autumn-park", "Describe a walk through a city park in autumn.",
          ("leaves", "bench", "scarf", "pond", "chestnut"), ("beautiful", "golden", "orange"),
          ("The gate creaked as I stepped in.", "It was a cold Sunday morning."),
          ("Then I walked home.", "The park was quiet again.")),
    Topic("lighthouse", "Write a very short story about a lighthouse keeper who finds a message in a bottle.",
          ("lantern", "storm", "letter", "harbour", "gull"), ("ocean", "lonely", "suddenly"),
          ("The tide went out at dawn.", "Old Tomas climbed the stairs."),
          ("And the light kept turning.", "The end.")),
    Topic("recycling", "Explain to your neighbours how to sort household rubbish for recycling.",
          ("glass", "cardboard", "compost", "rinse", "collection"), ("plastic", "environment", "waste"),
          ("Dear neighbours,", "Sorting is easier than it looks."),
          ("Thanks for helping out.", "Collection is every Tuesday.")),
    Topic("offsite", "Announce a team offsite day to your colleagues.",
          ("agenda", "venue", "lunch", "workshop", "RSVP"), ("exciting", "awesome", "amazing"),
          ("Hi everyone,", "Save the date!"),
          ("See you there.", "Questions? Just ask me.")),
    Topic("sleep", "Give a friend advice on sleeping better.",
          ("routine", "screens", "caffeine", "bedroom", "alarm"), ("sleep", "tired", "rest"),
          ("Let me share what helped me.", "Small changes make a big difference."),
          ("Sweet dreams.", "Try it for a week.")),
)

_ZH_TOPICS = (
    Topic("hometown-snack", "介绍一道你家乡的特色小吃。",
          ("配料", "口感", "早餐", "老字号", "小摊"), ("好吃", "美味", "的"),
          ("说起家乡的味道，", "每次回家，"), ("欢迎你来尝一尝。", "这就是家乡的味道。")),
    Topic("leave-email", "给部门领导写一封请假邮件，说明下周五需要请假一天。",
          ("工作交接", "同事", "周五", "紧急", "进度"), ("抱歉", "麻烦", "的"),
          ("王经理您好：", "李总您好："), ("谢谢您的理解。", "盼复，谢谢！")),
    Topic("spring-festival", "向外国朋友介绍春节的几个习俗。",
          ("年夜饭", "红包", "春联", "守岁", "拜年"), ("传统", "热闹", "喜庆"),
          ("春节是中国人最重要的节日。", "你知道中国人怎么过年吗？"), ("欢迎来中国过年！", "新年快乐！")),
    Topic("high-speed-rail", "给第一次坐高铁的人写一份出行提示。",
          ("身份证", "检票口", "候车", "行李", "车次"), ("注意", "一定", "提前"),
          ("第一次坐高铁别紧张。", "出发前请看这几条："), ("祝你旅途顺利！", "一路平安。")),
    Topic("waste-sorting", "向小区居民说明垃圾分类的基本方法。",
          ("厨余垃圾", "可回收物", "有害垃圾", "投放", "分类"), ("环保", "大家", "的"),
          ("各位居民朋友：", "亲爱的邻居们："), ("感谢大家的配合！", "让我们一起行动起来。")),
    Topic("remote-work", "分享几条在家办公保持效率的建议。",
          ("番茄钟", "工位", "作息", "会议", "干扰"), ("效率", "自律", "的"),
          ("在家办公三年，我总结了几点。", "想在家也高效工作？"), ("希望对你有用。", "共勉。")),
    Topic("book-club", "写一段读书会的开场白，介绍本期要读的一本小说。",
          ("人物", "情节", "作者", "讨论", "结局"), ("精彩", "非常", "的"),
          ("各位书友晚上好！", "欢迎来到本期读书会。"), ("我们开始吧。", "期待大家的分享。")),
    Topic("autumn-park", "描写秋天傍晚在公园散步的情景。",
          ("银杏", "长椅", "湖面", "晚风", "落叶"), ("美丽", "金黄", "的"),
          ("傍晚的公园很安静。", "下班后，我走进了公园。"), ("天慢慢黑了下来。", "我这才慢慢走回家。")),
    Topic("coffee-shop", "为一家社区咖啡店写开业宣传文案。",
          ("手冲", "拿铁", "开业", "优惠", "座位"), ("咖啡", "欢迎", "的"),
          ("街角新开了一家小店。", "好消息！"), ("等你来坐坐。", "我们不见不散。")),
    Topic("interview-prep", "给应届毕业生写几条面试准备建议。",
          ("简历", "自我介绍", "着装", "公司", "提问"), ("自信", "紧张", "的"),
          ("面试前做好这几件事，", "各位同学："), ("祝你面试顺利！", "加油！")),
    Topic("first-cat", "给第一次养猫的人一些建议。",
          ("猫砂", "疫苗", "驱虫", "猫粮", "体检"), ("可爱", "主人", "的"),
          ("恭喜你要养猫了！", "养猫之前先看看这些。"), ("祝你和猫咪相处愉快。", "有问题随时问我。")),
    Topic("sleep-early", "劝朋友早点睡觉，写一段话。",
          ("手机", "熬夜", "作息", "睡前", "闹钟"), ("睡觉", "身体", "健康"),
          ("最近你总是很晚才睡。", "听我说几句。"), ("今晚就早点休息吧。", "晚安。")),
)

_TEXT = {
    "en": _Text(
        topics=_EN_TOPICS,
        requirements="Requirements:",
        length_range="Write between {low} and {high} words.",
        at_most="Use at most {high} words.",
        at_least="Write at least {low} words.",
        include="Use the words {words} (each at least once).",
        include_one="Use the word {words}.",
        exclude="Do not use the words {words} anywhere, not even inside a longer word.",
        exclude_one="Do not use the word {words} anywhere, not even inside a longer word.",
        json_object="Reply with a single JSON object only (keys of your choice), with no text before or after it.",
        bullets='Write the whole answer as a bulleted list: every line must start with "- ".',
        numbered='Write the whole answer as a numbered list: the lines start with "1.", "2.", "3." and so on, '
                 "with nothing before or after the list.",
        uppercase="Write everything in capital letters.",
        lowercase="Write everything in lowercase letters; no capital letters at all.",
        num_bullets='Include exactly {n} bullet points, each on its own line starting with "- ".',
        num_paragraphs="Write exactly {n} paragraphs, separated by blank lines.",
        starts_with='Begin your answer with exactly these words: "{phrase}"',
        ends_with='End your answer with exactly these words, with nothing after them: "{phrase}"',
    ),
    "zh": _Text(
        topics=_ZH_TOPICS,
        requirements="要求：",
        length_range="正文字数在{low}到{high}个汉字之间（只计汉字，不计标点和空格）。",
        at_most="不超过{high}个汉字（只计汉字）。",
        at_least="不少于{low}个汉字（只计汉字）。",
        include="文中要用到{words}这几个词（每个至少一次）。",
        include_one="文中要用到{words}这个词。",
        exclude="全文不要出现{words}这几个字词（包括作为其他词的一部分）。",
        exclude_one="全文不要出现{words}（包括作为其他词的一部分）。",
        json_object="只输出一个 JSON 对象（键名自定），前后不要有任何其他文字。",
        bullets="全文写成列表，每一行都以“- ”开头。",
        numbered="全文写成编号列表，各行依次以“1.”“2.”“3.”……开头，列表前后不要有其他内容。",
        uppercase="",
        lowercase="",
        num_bullets="其中恰好有{n}条要点，每条单独一行，以“- ”开头。",
        num_paragraphs="全文恰好分成{n}段，段与段之间空一行。",
        starts_with="开头必须是这句话，一字不差：“{phrase}”",
        ends_with="结尾必须是这句话，一字不差，后面不要再有任何内容：“{phrase}”",
    ),
}
