"""The cost-vs-volume chart of self-hosting against the APIs, as SVG (matplotlib)."""

from __future__ import annotations

from evalkit.economics import selfhost
from evalkit.economics.capacity import CapacityResult
from evalkit.economics.pricing import ModelPrice
from evalkit.economics.volume import HOURS_PER_MONTH
from evalkit.report.styles import WIDTH_IN, model_styles


def cost_curve(capacity: CapacityResult, apis: list[ModelPrice], utilisation: float,
                     max_requests: float) -> str:
    """SVG: monthly cost against requests/month, self-hosted (a staircase of replicas)
    and each API (a line), with break-even points marked."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [f"{capacity.model} (self-hosted)"] + [a.model for a in apis]
    styles = model_styles(names)
    xs = [max_requests * i / 400 for i in range(1, 401)]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.2))
    own = styles[names[0]]
    ax.step(xs, [selfhost.self_hosted_monthly(x, capacity, utilisation)[0] for x in xs], where="post",
            color=own.color, label=names[0], linewidth=2)
    one_month = selfhost.price_of(capacity).hourly_cost * HOURS_PER_MONTH
    for price in apis:
        per_request = selfhost.api_cost_per_request(price, capacity)
        if per_request is None:
            continue
        style = styles[price.model]
        ax.plot(xs, [x * per_request for x in xs], color=style.color, label=price.model, linestyle="--")
        even = one_month / per_request
        capacity_per_month = selfhost.price_of(capacity).requests_per_s * 3600 * HOURS_PER_MONTH * utilisation
        if even <= max_requests and even <= capacity_per_month:
            ax.plot([even], [one_month], marker=style.marker, color=style.color, markersize=8)
            ax.annotate(f"break-even {even:,.0f}/month", (even, one_month), textcoords="offset points",
                        xytext=(6, 6), fontsize=8)
    ax.set_xlabel("requests per month")
    ax.set_ylabel("USD per month")
    ax.set_title(f"Own hardware vs API: cost by volume ({utilisation:.0%} utilisation)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
