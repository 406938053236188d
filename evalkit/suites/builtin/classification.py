"""Built-in suite ``classification``: route a customer support ticket to one of six labels.

A ticket is assembled from one *intent* (what the customer asks for now, which fixes
the label by construction) plus, at higher levels, material that points elsewhere:
background remarks about other topics, a stale subject line from an old thread, the
request worded without its obvious keywords, and an explicit "this is not about X"
for the label most easily confused with the true one. The prompt states the rule that
decides such cases: the label is what the customer asks for now.

Labels: billing, refund, shipping, account, technical, other (Chinese: 账单, 退款, 物流,
账号, 技术, 其他).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from evalkit.suites.base import Sample
from evalkit.suites.builtin import Item, generate_samples, register_generated

LABEL_KEYS = ("billing", "refund", "shipping", "account", "technical", "other")

# The label most easily mistaken for each one; level 5 tickets explicitly rule it out.
CONFUSABLE = {
    "billing": "refund",
    "refund": "billing",
    "shipping": "refund",
    "account": "technical",
    "technical": "account",
    "other": "technical",
}


@dataclass(frozen=True)
class Intent:
    """One kind of request; every ticket built from it has the same label."""

    id: str
    label: str
    direct: tuple[str, ...]
    """The request in the words customers usually use (levels 1-3)."""
    indirect: tuple[str, ...]
    """The same request without the category's obvious keywords (levels 4-5)."""


@dataclass(frozen=True)
class Language:
    """Everything one language's tickets are written from."""

    labels: dict[str, str]
    """Label key -> the label as it appears in this language's prompt and reference."""
    definitions: dict[str, str]
    definition_line: str
    intents: tuple[Intent, ...]
    asides: dict[str, tuple[str, ...]]
    """Per label: a remark about that topic that is background or already settled."""
    denials: dict[str, tuple[str, ...]]
    """Per label: an explicit statement that the ticket is not about that topic."""
    subjects: dict[str, tuple[str, ...]]
    subject_line: str
    """How a subject is written: ``Subject: {subject}``."""
    reply: str
    """Prefix of a reply in an old thread: ``Re: ``."""
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    separator: str
    instruction: str
    slots: dict[str, tuple[str, ...]]
    """Values for the ``{placeholders}`` in the texts (order numbers, amounts, products)."""
    hurried_lowercase: bool
    """Whether some hard tickets are written all in lower case (only where letters have case)."""


def generate(n: int, seed: int, language: str = "en", difficulty: int | None = None) -> list[Sample]:
    """``n`` support tickets to label; the same arguments always give the same tickets."""
    return generate_samples("classification", build_item, n, seed, language, difficulty)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One ticket at ``level``; the label comes from the intent it was built from."""
    lang = _LANGUAGES[language]
    label = LABEL_KEYS[rng.randrange(len(LABEL_KEYS))]  # labels balanced, whatever the intent counts
    intent = rng.choice([i for i in lang.intents if i.label == label])
    slots = {name: rng.choice(values) for name, values in lang.slots.items()}
    ticket, distractors = _ticket(rng, level, lang, intent, slots)
    labels = [lang.labels[key] for key in LABEL_KEYS]
    return Item(
        prompt=_prompt(lang, ticket),
        reference=lang.labels[label],
        scorer="label",
        scorer_options={"labels": labels},
        template=intent.id,
        metadata={"intent": intent.id, "label_key": label, "distractor_labels": distractors},
    )


register_generated(
    "classification",
    build_item,
    description="Customer support tickets; pick one label of six.",
    typical_answer_tokens=20,
    order=3,
)


def _ticket(rng: random.Random, level: int, lang: Language, intent: Intent, slots: dict[str, str]
            ) -> tuple[str, list[str]]:
    """The ticket text and the labels its distracting material points to."""
    request = rng.choice(intent.indirect if level >= 4 else intent.direct)
    others = [key for key in LABEL_KEYS if key != intent.label]
    distractors = _distractor_labels(rng, level, intent.label, others)
    body = [rng.choice(lang.asides[key]) for key in distractors if key != CONFUSABLE[intent.label] or level < 5]
    if level == 5:
        body.append(rng.choice(lang.denials[CONFUSABLE[intent.label]]))
    rng.shuffle(body)
    # The request goes last at levels 4-5 so the distracting remarks are read first.
    parts = body + [request] if level >= 4 else [request] + body
    text = lang.separator.join(parts)
    if level >= 2:
        text = f"{rng.choice(lang.greetings)}\n{text}\n{rng.choice(lang.closings)}"
    subject = _subject(rng, level, lang, intent.label, others)
    if subject:
        text = f"{subject}\n\n{text}"
    text = text.format(**slots)
    if level >= 4 and lang.hurried_lowercase and rng.random() < 0.3:
        text = text.lower()  # hurried tickets: all lower case
    return text, distractors


def _distractor_labels(rng: random.Random, level: int, label: str, others: list[str]) -> list[str]:
    if level <= 2:
        return []
    if level == 3:
        return rng.sample(others, 1)
    if level == 4:
        return rng.sample(others, rng.randint(1, 2))
    rest = [key for key in others if key != CONFUSABLE[label]]
    return [CONFUSABLE[label]] + rng.sample(rest, 1)


def _subject(rng: random.Random, level: int, lang: Language, label: str, others: list[str]) -> str | None:
    """Levels 2-3 may carry an honest subject; levels 4-5 often a stale one from an old thread."""
    if level in (2, 3) and rng.random() < 0.5:
        return lang.subject_line.format(subject=rng.choice(lang.subjects[label]))
    if level >= 4 and rng.random() < 0.6:
        stale = rng.choice(lang.subjects[rng.choice(others)])
        return lang.subject_line.format(subject=lang.reply + stale)
    return None


def _prompt(lang: Language, ticket: str) -> str:
    definitions = "\n".join(
        lang.definition_line.format(label=lang.labels[key], definition=lang.definitions[key]) for key in LABEL_KEYS
    )
    return lang.instruction.format(definitions=definitions, ticket=ticket)


# ---------------------------------------------------------------- English


_EN = Language(
    labels={key: key for key in LABEL_KEYS},
    definitions={
        "billing": "charges, invoices, payment methods or subscription prices, when the customer is not asking "
                   "for money back",
        "refund": "the customer wants money returned to them (a refund, a reimbursed charge, money back for a return)",
        "shipping": "delivery of an order: tracking, delays, lost parcels, delivery address or delivery options",
        "account": "signing in, passwords, verification codes, profile details, email address, closing an account",
        "technical": "a device, the app or the website not working: errors, crashes, bugs, setup or connection "
                     "problems",
        "other": "anything else: feedback, suggestions, praise, partnership or press enquiries, general questions",
    },
    definition_line="- {label}: {definition}",
    intents=(
        Intent("billing-invoice", "billing",
               ("Could you send me an invoice for my {plan} plan with our company name and VAT number on it? "
                "Our accounts team needs it for the last payment.",
                "I need a proper VAT invoice for the {amount} payment on {date}. The receipt email isn't enough "
                "for our bookkeeping."),
               ("Our bookkeeper keeps bouncing my expense claim because the paperwork for the {plan} plan shows "
                "my personal name instead of the company's, and no tax number. Can you reissue it properly?",
                "Could the receipts for our {plan} subscription be made out to the company, with our tax details, "
                "instead of to me personally? Finance won't accept them as they are.")),
        Intent("billing-card", "billing",
               ("My credit card expires at the end of the month. How do I change the payment method for my "
                "{plan} subscription?",
                "I want to pay for the {plan} plan with PayPal instead of my card from now on. How do I switch?"),
               ("The bank is sending me a new card next week. What do I need to do so the {plan} plan keeps "
                "renewing without a gap?",
                "I'm switching banks this month. Where do I go to point the {plan} plan at the new account before "
                "the next renewal?")),
        Intent("billing-price", "billing",
               ("My {plan} plan was {amount} last month and this month I was charged more. Why did the price "
                "change without any notice?",
                "I'm being charged monthly, but I signed up for the yearly {plan} price. Can you check which plan "
                "I'm actually on?"),
               ("The number on my statement for the {plan} plan crept up this month and nobody told me. "
                "What changed, and what will it be going forward?",
                "I budgeted {amount} a month for the {plan} plan, but the last statement was higher. Was there an "
                "announcement I missed?")),
        Intent("refund-return", "refund",
               ("I sent the {product} back on {date} and your warehouse confirmed receiving it. Please refund "
                "the {amount} to my card.",
                "I returned order {order} within the 30 days. When will I get my refund of {amount}?"),
               ("Your warehouse signed for the {product} I sent back on {date}, but the {amount} still hasn't "
                "shown up on my card. Please make sure it comes back to me.",
                "The courier receipt shows the {product} reached your returns desk on {date}. The {amount} I paid "
                "for it should be back with me by now. When will it be?")),
        Intent("refund-cancelled", "refund",
               ("I cancelled order {order} an hour after placing it, but the {amount} was still taken from my "
                "card. Please refund it.",
                "Order {order} was cancelled by your system because the item was out of stock, yet I was charged "
                "{amount}. I want that refunded."),
               ("Order {order} never went ahead - it was cancelled the same day - yet {amount} left my account. "
                "I'd like it returned, please.",
                "I changed my mind within minutes and hit cancel on order {order}, yet my bank shows {amount} gone. "
                "Please put it back.")),
        Intent("refund-renewal", "refund",
               ("I forgot to cancel my yearly {plan} plan and it renewed yesterday for {amount}. I won't use it; "
                "can I get a refund?",
                "Please refund the {amount} renewal of my {plan} plan. I cancelled it the same day it renewed."),
               ("My {plan} plan silently rolled over for another year yesterday at {amount}. I've already "
                "switched it off and would like to be reimbursed.",
                "I only noticed today that the {plan} plan took {amount} for another year. I switched renewal off "
                "straight away and would like that payment reversed.")),
        Intent("shipping-late", "shipping",
               ("My order {order} was supposed to arrive on {date}, and the tracking hasn't updated for a week. "
                "Where is my package?",
                "Order {order} still shows 'in transit' after ten days. Can you find out where it is?"),
               ("It's well past {date}, the date I was promised, and order {order} seems stuck somewhere between "
                "you and me. Can someone chase it?",
                "The box for order {order} seems to have been sitting at the same depot since {date}. Can you give "
                "the carrier a nudge?")),
        Intent("shipping-address", "shipping",
               ("I need to change the delivery address for order {order}; I've just moved. It hasn't been sent "
                "yet.",
                "Can you deliver order {order} to my office instead of my home address? I'm never in during the "
                "day."),
               ("I'm moving out of my flat before order {order} goes out. Can it go to my new place instead of "
                "the one on the order?",
                "Order {order} is set to go to my parents' house, but I'll be at home all next week. Could it come "
                "to me instead?")),
        Intent("shipping-missing", "shipping",
               ("The tracking says order {order} was delivered on {date}, but nothing arrived and my neighbours "
                "have nothing either. Where did the parcel go?",
                "Only one of the two boxes in order {order} arrived. Can you check where the second box is?"),
               ("According to your courier, order {order} reached me on {date}. It did not. I've checked with the "
                "building's front desk twice. Can you trace it?",
                "Your courier marked order {order} as handed over on {date}, but my doorstep, the mailroom and the "
                "neighbours all came up empty. Can you find out where it went?")),
        Intent("account-locked", "account",
               ("I'm locked out of my account after too many password attempts, and the reset email never "
                "arrives. Can you unlock it?",
                "I forgot my password and the reset link says it has expired every time. How do I get back into "
                "my account?"),
               ("Ever since I mistyped my password a few times this morning I can't get past the sign-in screen, "
                "and the email that should let me back in never turns up.",
                "My authenticator app went with my old phone, so the six-digit code step stops me every time I try "
                "to get in. What now?")),
        Intent("account-email", "account",
               ("Please change the email address on my account to {email}. I no longer use the old one.",
                "How do I change the name and email address on my profile? I got married and my email is now "
                "{email}."),
               ("I've left my old job, so messages to the address you have for me go nowhere. Everything should "
                "go to {email} from now on.",
                "Messages from you still go to an inbox I closed last year. Please send everything to {email} "
                "instead.")),
        Intent("account-close", "account",
               ("Please close my account and delete my personal data.",
                "I'd like to delete my account. How do I do that?"),
               ("I've decided to stop being your customer altogether. Please remove my profile and everything "
                "you store about me.",
                "I won't be needing my profile any more. Please wipe it, along with the history you keep on me.")),
        Intent("technical-offline", "technical",
               ("My {product} keeps going offline every few hours. I've restarted the router and the device, "
                "and it still drops.",
                "The {product} won't connect to my Wi-Fi after the last firmware update. The light just blinks "
                "orange."),
               ("Every few hours the {product} just vanishes from the app, and the only cure is pulling the "
                "plug. That is not how I expected it to behave.",
                "Since Tuesday the {product} shows as unavailable most evenings, even though every other gadget in "
                "the house stays online.")),
        Intent("technical-crash", "technical",
               ("The app crashes every time I open the camera tab, since the latest update.",
                "Setting up the {product} fails with error {error} at the pairing step."),
               ("Since the update the app shuts itself down the moment I tap on the camera tab, and pairing the "
                "{product} stops with {error} on the screen.",
                "When I try to add the {product}, the app freezes on the pairing screen and then shows {error}. "
                "Reinstalling didn't change anything.")),
        Intent("other-suggestion", "other",
               ("It would be great if the app had a dark mode. Just a suggestion!",
                "Could you add a Spanish version of the app? My parents would love to use it."),
               ("Small idea from a long-time user: an option for the app to follow the phone's night colours "
                "would be easier on the eyes at 2 a.m.",
                "One thing I'd love in a future version: a home-screen widget, so I don't have to open the app every "
                "time.")),
        Intent("other-partnership", "other",
               ("I run a home automation blog and would love to review the {product}. Who can I talk to about "
                "a partnership?",
                "I'm a journalist writing about smart homes. Could someone from your team answer a few questions "
                "for an article?"),
               ("I write a fairly popular home gadget newsletter and the {product} would fit our next issue. "
                "Is there someone I could talk to about working together?",
                "Our design school runs a smart-living exhibition in spring and we'd like to show the {product}. "
                "Could you put me in touch with the right person?")),
        Intent("other-praise", "other",
               ("I just wanted to say that your support agent Jamie was fantastic last week. Thank you!",
                "The {product} I got last week is lovely, and the setup guide was a pleasure to read. "
                "Please pass my thanks on to the design team."),
               ("No need to do anything here: Jamie from your team sorted me out last week and went well beyond "
                "what I expected, and I wanted their manager to hear it.",
                "Nothing to fix: I just wanted to say the {product} has made mornings in our house much easier. Keep "
                "it up!")),
    ),
    asides={
        "billing": ("The invoice for last month was fine, by the way.",
                    "I already updated my card details last week, so payments are sorted.",
                    "My subscription renewal went through without any problem."),
        "refund": ("You refunded my previous order very quickly, so thanks for that.",
                   "I got my money back for the faulty charger last month, no complaints there."),
        "shipping": ("The parcel itself arrived on time.", "Delivery was quick, and the courier was friendly.",
                     "The tracking worked perfectly this time."),
        "account": ("I already reset my password, so signing in works.",
                    "I updated my phone number in my profile last week and that worked fine."),
        "technical": ("The app has been working fine since the last update.",
                      "Setting up the {product} was easy and it connected first time."),
        "other": ("I love the product overall and have recommended you to friends.",
                  "Your help pages are really well written."),
    },
    denials={
        "billing": ("The charge itself and the invoice are correct, so this isn't a billing question.",),
        "refund": ("I'm not asking for my money back.", "To be clear, I don't want a refund."),
        "shipping": ("The delivery isn't the issue; everything arrived fine.",),
        "account": ("I can sign in to my account without any trouble.",),
        "technical": ("Nothing is broken, and the app works fine.",),
        "other": ("This isn't just feedback.",),
    },
    subjects={
        "billing": ("Question about my invoice", "Payment method"),
        "refund": ("Refund request", "Money back for order {order}"),
        "shipping": ("Where is order {order}?", "Your order {order} has shipped"),
        "account": ("Can't sign in", "Account settings"),
        "technical": ("Device problem", "App error {error}"),
        "other": ("Hello!", "A suggestion"),
    },
    subject_line="Subject: {subject}",
    reply="Re: ",
    greetings=("Hi,", "Hello support team,", "Hi there,", "Dear Lumio team,", "Hello,"),
    closings=("Thanks, {name}", "Best regards,\n{name}", "Cheers, {name}", "Thank you in advance.\n{name}"),
    separator=" ",
    instruction=(
        "You triage customer support tickets for Lumio, a company that sells smart home devices and a "
        "subscription app. Give the ticket exactly one of these labels:\n{definitions}\n\n"
        "Label what the customer is asking for now. Background remarks, problems that are already solved "
        "and things the customer says they do not want do not count.\n"
        "Reply with the label only.\n\nTicket:\n<<<\n{ticket}\n>>>"
    ),
    slots={
        "plan": ("Plus", "Family", "Pro", "Premium"),
        "amount": ("$49.99", "$129.00", "$89.50", "$19.99", "$249.00", "$14.99"),
        "date": ("March 3", "June 14", "September 22", "November 8", "January 17"),
        "order": ("#48213", "#51907", "#60422", "#39785", "#72230"),
        "product": ("Lumio Hub", "Lumio Cam 2", "Lumio Smart Plug", "Lumio Doorbell", "Lumio Thermostat"),
        "email": ("j.ortega@fastmail.com", "priya.nair@outlook.com", "tom.becker@posteo.de"),
        "error": ("E-203", "ERR_PAIR_TIMEOUT", "0x80070005", "code 17"),
        "name": ("Chris", "Alex M.", "Jordan", "Samira", "Pat"),
    },
    hurried_lowercase=True,
)


# ---------------------------------------------------------------- Chinese


_ZH = Language(
    labels={"billing": "账单", "refund": "退款", "shipping": "物流", "account": "账号", "technical": "技术",
            "other": "其他"},
    definitions={
        "billing": "扣费、发票、支付方式、会员价格等问题（客户没有要求把钱退回）",
        "refund": "客户要求把钱退回来（退款、退货退款、多扣的钱退回）",
        "shipping": "订单配送：查物流、延误、丢件、修改收货地址、配送方式",
        "account": "登录、密码、验证码、绑定手机或邮箱、个人资料、注销账号",
        "technical": "设备、App 或网站出故障：报错、闪退、连不上网、设置失败",
        "other": "以上都不是：建议、表扬、商务合作、媒体采访、一般咨询",
    },
    definition_line="- {label}：{definition}",
    intents=(
        Intent("billing-invoice", "billing",
               ("你好，我上个月续费了{plan}，需要开一张增值税专用发票，抬头是我们公司，税号稍后发你，怎么申请？",
                "{date}付的{amount}会员费，能帮我补开一张电子发票吗？公司报销要用。"),
               ("我们财务说{plan}的那张票抬头写成了我个人名字，还没有税号，报销走不了，能不能重新给开一张？",
                "{plan}的付款凭证能不能开成公司抬头、带上税号？现在是我个人的名字，财务那边不收。")),
        Intent("billing-card", "billing",
               ("我的银行卡月底到期，{plan}自动续费的扣款方式怎么改成微信支付？",
                "以后{plan}想用支付宝付，不用信用卡了，在哪里修改？"),
               ("银行下周给我换新卡，旧卡就停用了。我要怎么弄才能让{plan}按时续上、不断掉？",
                "这个月我要换银行了，{plan}下次续费前，在哪里把扣款账户换成新卡？")),
        Intent("billing-price", "billing",
               ("我的{plan}上个月还是{amount}，这个月扣得比上个月多，价格为什么变了？也没提前通知。",
                "我开的是{plan}年付，怎么变成按月扣费了？麻烦查一下我现在到底是什么套餐。"),
               ("这个月银行短信里{plan}那一笔比以前多了一截，之前也没人说过。到底怎么回事，以后每个月是多少？",
                "我给{plan}每月预留的是{amount}，可上个月账单比这个多，是不是有调价通知我没看到？")),
        Intent("refund-return", "refund",
               ("我{date}把{product}寄回去了，仓库也显示签收了，请把{amount}退到我卡上。",
                "订单{order}已经在七天无理由期限内退货了，退款{amount}什么时候到账？"),
               ("{product}{date}就寄回你们仓库了，对方也签收了，可我卡里到现在一分钱没回来，麻烦把这{amount}给我处理回来。",
                "快递单显示{product}{date}已经送到你们退货仓了，当时付的{amount}按说早该回到我这儿了，什么时候能到？")),
        Intent("refund-cancelled", "refund",
               ("订单{order}下单一小时就取消了，可{amount}还是扣了，请退给我。",
                "订单{order}因为缺货被系统取消了，但钱已经扣了{amount}，请尽快退款。"),
               ("订单{order}当天就作废了，根本没发货，可我账户里照样少了{amount}，这笔钱得还给我。",
                "订单{order}下完几分钟我就点了取消，银行却显示扣了{amount}，请把钱给我打回来。")),
        Intent("refund-renewal", "refund",
               ("忘了关自动续费，{plan}昨天又扣了{amount}，我不打算用了，能退吗？",
                "{plan}续费当天我就取消了，请把扣的{amount}退回来。"),
               ("昨天{plan}又悄悄续了一年，扣了{amount}。我已经把它关了，这笔钱希望能原路返还。",
                "今天才发现{plan}又扣了{amount}续了一年，我马上把自动续费关了，这笔扣款希望能撤回。")),
        Intent("shipping-late", "shipping",
               ("订单{order}说好{date}前送到，物流信息一个星期没更新了，我的包裹到底在哪？",
                "订单{order}显示运输中已经十天了，能帮我查一下到哪了吗？"),
               ("早就过了承诺的{date}，订单{order}好像卡在半路上了，能不能帮我催一下？",
                "订单{order}的包裹从{date}开始就一直停在同一个中转站，能不能帮忙催一下快递公司？")),
        Intent("shipping-address", "shipping",
               ("订单{order}还没发货，我刚搬家，想改一下收货地址。",
                "订单{order}能不能改成寄到公司？白天家里没人收。"),
               ("订单{order}发出来之前我就搬走了，能不能送到我新住的地方，不要送到单子上那个地址？",
                "订单{order}填的是我爸妈家，可我下周都在自己家，能不能改成送到我这儿？")),
        Intent("shipping-missing", "shipping",
               ("物流显示订单{order}在{date}已签收，可我根本没收到，问了邻居和快递柜都没有，包裹去哪了？",
                "订单{order}一共两箱，只到了一箱，另一箱在哪里？"),
               ("快递那边说订单{order}{date}就交到我手上了，可我真没见着，物业前台我也问了两遍，能帮我追一下吗？",
                "快递员说订单{order}{date}就交给我了，可门口、快递柜、邻居家都找过了，没有。能帮我查查去哪了吗？")),
        Intent("account-locked", "account",
               ("密码输错太多次，账号被锁了，重置密码的邮件一直收不到，能帮我解锁吗？",
                "忘记密码了，每次点重置链接都提示已过期，怎么才能登录回去？"),
               ("今天早上密码多输错了几次，现在怎么都进不去，说好的那封找回邮件也一直没来。",
                "旧手机丢了，验证码发不到新号码上，每次到验证那一步就进不去了，怎么办？")),
        Intent("account-email", "account",
               ("麻烦把我账户绑定的邮箱改成{email}，原来的邮箱不用了。",
                "换了新手机号，账号绑定的手机怎么改？"),
               ("我从原来的公司离职了，你们记录里那个邮箱已经收不到信了，以后请都发到{email}。",
                "你们的通知还在发到我去年就停用的邮箱，以后请统一发到{email}。")),
        Intent("account-close", "account",
               ("请帮我注销账号，并删除我的个人信息。", "我想注销账号，应该怎么操作？"),
               ("我决定以后不再用你们家的东西了，请把我的资料和你们存的所有信息都清掉。",
                "以后不需要这个账户了，麻烦把它和你们留存的我的记录一起清除。")),
        Intent("technical-offline", "technical",
               ("我的{product}每隔几个小时就掉线，路由器和设备都重启过了，还是掉。",
                "固件升级以后，{product}连不上家里的Wi-Fi了，指示灯一直闪橙色。"),
               ("{product}隔几个小时就从App里消失，只能拔电源再插上才好，这肯定不正常吧。",
                "从周二开始，{product}一到晚上就显示离线，家里别的设备都好好的。")),
        Intent("technical-crash", "technical",
               ("更新之后，App一打开摄像头页面就闪退。", "添加{product}时，配对那一步一直报错{error}。"),
               ("自从更新以后，我一点摄像头那一页App就自己关掉了，配对{product}的时候屏幕上还跳出{error}。",
                "添加{product}的时候App卡在配对界面，过一会儿就跳出{error}，重装也没用。")),
        Intent("other-suggestion", "other",
               ("建议App加个深色模式，晚上看太亮了，只是个建议哈。", "能不能出个繁体中文版？家里老人看繁体习惯一些。"),
               ("用了好几年了，提个小想法：要是App能跟着手机自动切换夜间配色，半夜看就不刺眼了。",
                "希望以后能出个桌面小组件，不用每次都点开App。")),
        Intent("other-partnership", "other",
               ("我是做智能家居测评的博主，想测评一下{product}，请问商务合作找谁？",
                "我是科技媒体的记者，正在写智能家居的稿子，能不能约你们的人做个简短采访？"),
               ("我运营一个家居数码公众号，粉丝还不少，{product}挺适合下期选题的，想找个人聊聊一起做点事。",
                "我们学校春天要办一个智慧生活展，想展出{product}，能帮忙联系一下负责的同事吗？")),
        Intent("other-praise", "other",
               ("上周你们的客服小林帮了我很大忙，特地来说声谢谢！", "上周买的{product}很好用，说明书也写得清楚，麻烦替我谢谢设计团队。"),  # noqa: E501 (Chinese text is double width)
               ("不用处理什么，就是想让小林的领导知道：上周他帮我把事情办得特别妥帖，比我预想的好太多了。",
                "不需要处理什么，就是想说{product}让我们家早上省心多了，继续加油！")),
    ),
    asides={
        "billing": ("上个月的发票没问题。", "银行卡信息我上周已经更新好了，扣费正常。", "这次续费扣款也很顺利。"),
        "refund": ("上次那单退款很快就到了，这点挺满意的。", "上个月坏掉的充电器已经退过款了，没意见。"),
        "shipping": ("包裹是按时到的。", "快递挺快的，快递小哥态度也好。", "这次物流信息也一直很准。"),
        "account": ("密码我已经重置过了，登录没问题。", "上周改了绑定手机号，也挺顺利的。"),
        "technical": ("上次更新之后App一直挺好用的。", "{product}装起来很简单，一次就连上了。"),
        "other": ("总体来说产品挺好的，已经推荐给朋友了。", "你们的帮助文档写得很清楚。"),
    },
    denials={
        "billing": ("扣款和发票本身都没问题，不是账单的事。",),
        "refund": ("我不是要退款。", "先说清楚，我不要退钱。"),
        "shipping": ("跟快递没关系，东西都收到了。",),
        "account": ("账号登录一切正常。",),
        "technical": ("设备和App都没坏，用着挺好。",),
        "other": ("这不只是提个意见。",),
    },
    subjects={
        "billing": ("发票问题", "支付方式"),
        "refund": ("申请退款", "订单{order}退款"),
        "shipping": ("订单{order}到哪了", "您的订单{order}已发货"),
        "account": ("登录不上", "账号设置"),
        "technical": ("设备故障", "App报错{error}"),
        "other": ("你好", "一点建议"),
    },
    subject_line="主题：{subject}",
    reply="回复：",
    greetings=("你好，", "客服你好，", "在吗？", "您好，"),
    closings=("谢谢！", "麻烦尽快处理，谢谢。", "辛苦了！", "等你们回复。"),
    separator="",
    instruction=(
        "你负责给智家科技（卖智能家居设备和会员App）的客服工单分类。请给下面的工单选一个标签：\n{definitions}\n\n"
        "按客户现在要我们做的事来判断。背景介绍、已经解决的问题、客户明确说不需要的事情都不算。\n"
        "只回复标签本身。\n\n工单：\n<<<\n{ticket}\n>>>"
    ),
    slots={
        "plan": ("高级会员", "家庭会员", "云存储会员", "专业版会员"),
        "amount": ("199元", "68元", "299元", "15元", "1299元", "30元"),
        "date": ("3月3日", "6月14日", "9月22日", "11月8日", "1月17日"),
        "order": ("2024031512345678", "2023112098765432", "2024060811223344", "2024092733445566"),
        "product": ("智能门锁S2", "扫地机器人X7", "家用摄像头C3", "智能插座", "智能网关Hub"),
        "email": ("wangfang@163.com", "li.ming@qq.com", "zhangwei@126.com"),
        "error": ("E-203", "错误码1017", "0x80070005"),
        "name": ("",),
    },
    hurried_lowercase=False,
)

_LANGUAGES = {"en": _EN, "zh": _ZH}
