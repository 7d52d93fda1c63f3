"""Plotly figure dicts from stored or aggregated results (pure: no Django, no database).

Every figure has a title, axis titles where it has axes, hover text, and the Okabe–Ito palette
(colour-blind safe). Inputs are already aggregated (per unit, goal, cluster…); the functions cap
the number of marks and group the smallest items as "Other" so that a chart of a portfolio of
100,000 projects draws no more than a few hundred marks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
PALETTE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")]
# Sequential scale from pale to Okabe–Ito blue: readable with every colour-vision deficiency.
SEQUENTIAL = [[0.0, "#F2F7FB"], [0.5, "#56B4E9"], [1.0, "#0072B2"]]
TIER_COLOURS = {
    "prohibited": OKABE_ITO["vermillion"],
    "high": OKABE_ITO["orange"],
    "limited": OKABE_ITO["yellow"],
    "minimal": OKABE_ITO["green"],
    "": OKABE_ITO["grey"],
}
SANCTION_COLOURS = {
    "approved": OKABE_ITO["green"],
    "restricted": OKABE_ITO["orange"],
    "prohibited": OKABE_ITO["vermillion"],
    "unreviewed": OKABE_ITO["grey"],
}
# The life cycle, from pale to strong, retired in grey.
STAGE_COLOURS = {
    "idea": "#B3D7EE",
    "development": OKABE_ITO["sky"],
    "pilot": OKABE_ITO["orange"],
    "production": OKABE_ITO["blue"],
    "retired": OKABE_ITO["grey"],
}
MAX_BARS = 25
MAX_BUBBLES = 60
MAX_HEATMAP = 30
MAX_SUNBURST_MARKS = 300
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}


def _layout(
    title: str, x_title: str | None = None, y_title: str | None = None, **extra: Any
) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title},
        "font": FONT,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
        "colorway": PALETTE,
        "hoverlabel": {"namelength": -1},
    }
    if x_title is not None:
        layout["xaxis"] = {"title": {"text": x_title}, "automargin": True}
    if y_title is not None:
        layout["yaxis"] = {"title": {"text": y_title}, "automargin": True}
    layout.update(extra)
    return layout


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def cap_items(
    items: Iterable[tuple[str, Any]], limit: int = MAX_BARS, other: str = "Other"
) -> list[tuple[str, float]]:
    """The `limit - 1` largest items and one "Other (n)" item with the sum of the rest."""
    ordered = sorted(((str(k), _num(v)) for k, v in items), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= limit:
        return ordered
    head, tail = ordered[: limit - 1], ordered[limit - 1 :]
    return [*head, (f"{other} ({len(tail)})", sum(v for _, v in tail))]


def mark_count(figure: Mapping[str, Any]) -> int:
    """How many marks a figure draws (points, bars, cells, sectors)."""
    total = 0
    for trace in figure.get("data", []):
        if trace.get("type") == "heatmap":
            total += sum(len(row) for row in trace.get("z", []))
        elif trace.get("type") == "sunburst":
            total += len(trace.get("ids", []))
        else:
            total += len(trace.get("x", trace.get("labels", [])))
    return total


def bar(
    items: Iterable[tuple[str, Any]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    hover: str = "%{y}: %{x:,.0f}<extra></extra>",
    colour: str = OKABE_ITO["blue"],
    limit: int = MAX_BARS,
) -> dict[str, Any]:
    """A horizontal bar chart, largest first, capped at `limit` bars."""
    capped = cap_items(items, limit)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [v for _, v in capped],
                "y": [k for k, _ in capped],
                "marker": {"color": colour},
                "hovertemplate": hover,
            }
        ],
        "layout": _layout(
            title,
            x_title,
            y_title,
            yaxis={"title": {"text": y_title}, "automargin": True, "autorange": "reversed"},
            height=max(260, 60 + 26 * len(capped)),
        ),
    }


def compliance_heatmap(
    units: Sequence[str], frameworks: Sequence[str], shares: Sequence[Sequence[float | None]]
) -> dict[str, Any]:
    """Unit × framework share of applicable controls met (percent; blank when none apply)."""
    units, shares = list(units)[:MAX_HEATMAP], [list(r) for r in list(shares)[:MAX_HEATMAP]]
    z = [[None if v is None else round(v * 100, 1) for v in row] for row in shares]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": list(frameworks),
                "y": list(units),
                "z": z,
                "zmin": 0,
                "zmax": 100,
                "colorscale": SEQUENTIAL,
                "colorbar": {"title": {"text": "% met"}},
                # Blank where no control applies (a template would print a lone "%" there).
                "text": [["" if v is None else f"{v:.0f}%" for v in row] for row in z],
                "texttemplate": "%{text}",
                "customdata": [
                    [
                        "no control of it applies"
                        if v is None
                        else f"{v:.1f}% of applicable controls met"
                        for v in row
                    ]
                    for row in z
                ],
                "hovertemplate": "%{y}<br>%{x}: %{customdata}<extra></extra>",
                "xgap": 2,
                "ygap": 2,
            }
        ],
        "layout": _layout(
            "Share of applicable controls met, by business unit and framework",
            "Framework",
            "Business unit",
            yaxis={"title": {"text": "Business unit"}, "automargin": True, "autorange": "reversed"},
            height=max(300, 120 + 30 * len(units)),
        ),
    }


def count_heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    counts: Mapping[tuple[str, str], float],
    *,
    title: str,
    x_title: str,
    y_title: str,
    limit: int = MAX_HEATMAP,
) -> dict[str, Any]:
    """A heatmap of counts, keeping the `limit` busiest rows and columns."""
    row_totals: dict[str, float] = defaultdict(float)
    col_totals: dict[str, float] = defaultdict(float)
    for (r, c), n in counts.items():
        row_totals[r] += n
        col_totals[c] += n
    keep_rows = sorted(rows, key=lambda r: (-row_totals[r], r))[:limit]
    keep_cols = sorted(columns, key=lambda c: (-col_totals[c], c))[:limit]
    z = [[counts.get((r, c), 0) for c in keep_cols] for r in keep_rows]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": keep_cols,
                "y": keep_rows,
                "z": z,
                "colorscale": SEQUENTIAL,
                "colorbar": {"title": {"text": "Projects"}},
                "hovertemplate": "%{y}<br>%{x}: %{z} projects<extra></extra>",
                "xgap": 2,
                "ygap": 2,
            }
        ],
        "layout": _layout(
            title,
            x_title,
            y_title,
            yaxis={"title": {"text": y_title}, "automargin": True, "autorange": "reversed"},
            height=max(300, 120 + 26 * len(keep_rows)),
        ),
    }


def alignment_sunburst(
    unit_spend: Iterable[tuple[str, str, Any]],
    top_projects: Iterable[tuple[str, str, str, Any]] = (),
    *,
    max_marks: int = MAX_SUNBURST_MARKS,
) -> dict[str, Any]:
    """Goal → business unit → project, sized by annual spend.

    `unit_spend` is (goal, unit, spend) aggregated in SQL; `top_projects` the largest projects as
    (goal, unit, project, spend). Units beyond the budget are grouped as "Other units" per goal,
    and the spend of a unit not covered by its listed projects is an "Other projects" sector.
    """
    per_goal: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for goal, unit, spend in unit_spend:
        per_goal[str(goal)].append((str(unit), _num(spend)))
    goals = sorted(per_goal, key=lambda g: -sum(v for _, v in per_goal[g]))
    budget = max(max_marks, 3 * len(goals) + 1)
    unit_limit = max(2, (budget // 2 - len(goals)) // max(1, len(goals)))
    ids: list[str] = []
    labels: list[str] = []
    parents: list[str] = []
    values: list[float] = []
    units_kept: dict[tuple[str, str], float] = {}
    for goal in goals:
        ids.append(f"g:{goal}")
        labels.append(goal)
        parents.append("")
        values.append(sum(v for _, v in per_goal[goal]))
        for unit, spend in cap_items(per_goal[goal], unit_limit, "Other units"):
            ids.append(f"u:{goal}/{unit}")
            labels.append(unit)
            parents.append(f"g:{goal}")
            values.append(spend)
            units_kept[(goal, unit)] = spend
    listed: dict[tuple[str, str], float] = defaultdict(float)
    for goal, unit, project, spend in top_projects:
        key = (str(goal), str(unit))
        if key not in units_kept or len(ids) >= max_marks - len(units_kept):
            continue
        ids.append(f"p:{goal}/{unit}/{project}/{len(ids)}")
        labels.append(str(project))
        parents.append(f"u:{goal}/{unit}")
        values.append(_num(spend))
        listed[key] += _num(spend)
    for key, covered in listed.items():
        rest = units_kept[key] - covered
        if rest > 0 and len(ids) < max_marks:
            ids.append(f"o:{key[0]}/{key[1]}")
            labels.append("Other projects")
            parents.append(f"u:{key[0]}/{key[1]}")
            values.append(rest)
    return {
        "data": [
            {
                "type": "sunburst",
                "ids": ids,
                "labels": labels,
                "parents": parents,
                "values": values,
                "branchvalues": "total",
                "hovertemplate": "%{label}<br>Annual spend: %{value:,.0f}<extra></extra>",
                "maxdepth": 3,
            }
        ],
        "layout": _layout(
            "Spend by strategic goal, business unit and project",
            colorway=PALETTE,
            height=520,
            margin={"l": 10, "r": 10, "t": 60, "b": 10},
        ),
    }


def risk_value_bubbles(
    units: Iterable[Mapping[str, Any]], *, limit: int = MAX_BUBBLES
) -> dict[str, Any]:
    """One bubble per business unit: annual cost (x), expected benefit (y), projects (size),
    share of high or prohibited tier (colour). Units beyond `limit` merge into "Other units"."""
    rows = sorted(units, key=lambda u: (-_num(u.get("cost")), str(u.get("unit"))))
    if len(rows) > limit:
        head, tail = rows[: limit - 1], rows[limit - 1 :]
        n = sum(int(u.get("projects") or 0) for u in tail)
        high = sum(int(u.get("high") or 0) for u in tail)
        rows = [
            *head,
            {
                "unit": f"Other units ({len(tail)})",
                "cost": sum(_num(u.get("cost")) for u in tail),
                "benefit": sum(_num(u.get("benefit")) for u in tail),
                "projects": n,
                "high": high,
            },
        ]
    biggest = max([int(r.get("projects") or 0) for r in rows] or [1]) or 1
    shares = [round(100 * int(r.get("high") or 0) / int(r.get("projects") or 1), 1) for r in rows]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": [_num(r.get("cost")) for r in rows],
                "y": [_num(r.get("benefit")) for r in rows],
                "text": [str(r.get("unit")) for r in rows],
                "customdata": [
                    [int(r.get("projects") or 0), s] for r, s in zip(rows, shares, strict=True)
                ],
                "marker": {
                    "size": [int(r.get("projects") or 0) for r in rows],
                    "sizemode": "area",
                    "sizeref": 2.0 * biggest / (50.0**2),
                    "sizemin": 4,
                    "color": shares,
                    "cmin": 0,
                    "cmax": 100,
                    "colorscale": [[0, OKABE_ITO["sky"]], [1, OKABE_ITO["vermillion"]]],
                    "colorbar": {"title": {"text": "% high or prohibited"}},
                    "line": {"color": OKABE_ITO["black"], "width": 1},
                },
                "hovertemplate": "%{text}<br>Annual cost: %{x:,.0f}<br>Expected benefit: "
                "%{y:,.0f}<br>Projects: %{customdata[0]}<br>High or prohibited tier: "
                "%{customdata[1]}%<extra></extra>",
            }
        ],
        # Money is never negative: both axes start at zero (a unit with no benefit recorded
        # sits on the axis instead of mid-chart between -1 and 1).
        "layout": _layout(
            "Risk and value by business unit",
            height=480,
            xaxis={"title": {"text": "Annual cost"}, "automargin": True, "rangemode": "tozero"},
            yaxis={
                "title": {"text": "Expected annual benefit"},
                "automargin": True,
                "rangemode": "tozero",
            },
        ),
    }


def trend_lines(
    series: Mapping[str, Sequence[tuple[str, float | None]]],
    *,
    title: str = "Trends",
    y_title: str = "Value",
    percent: bool = False,
) -> dict[str, Any]:
    """One line per metric over time (dates as ISO strings), at most six lines. With `percent`,
    shares in [0, 1] are drawn as percentages."""
    data = []
    for i, (name, points) in enumerate(list(series.items())[: len(PALETTE)]):
        values = [None if v is None else (round(v * 100, 1) if percent else v) for _, v in points]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [d for d, _ in points],
                "y": values,
                "line": {"color": PALETTE[i]},
                "hovertemplate": f"{name}<br>%{{x}}: %{{y:,.1f}}{'%' if percent else ''}"
                "<extra></extra>",
            }
        )
    layout = _layout(title, "Date", y_title, height=380)
    layout["xaxis"].update(_date_axis([d for points in series.values() for d, _ in points]))
    if percent:
        layout["yaxis"]["range"] = [0, 100]
    return {"data": data, "layout": layout}


MIN_TREND_DAYS = 7
DAY_MS = 86_400_000


def _date_axis(dates: Iterable[str]) -> dict[str, Any]:
    """A date axis labelled by day. Less than a week of history is drawn over the last week (one
    tick a day) instead of letting Plotly zoom into hours and milliseconds around one point."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%-d %b %Y", "hoverformat": "%-d %b %Y"}
    days = sorted({dt.date.fromisoformat(str(d)[:10]) for d in dates})
    if days and (days[-1] - days[0]).days < MIN_TREND_DAYS:
        last = dt.datetime.combine(days[-1], dt.time())
        start = last - dt.timedelta(days=MIN_TREND_DAYS - 1)
        half_day = dt.timedelta(hours=12)
        axis["range"] = [(start - half_day).isoformat(" "), (last + half_day).isoformat(" ")]
        axis["dtick"] = DAY_MS
        axis["tickformat"] = "%-d %b"  # the year is in the hover
    return axis


def stacked_bar(
    categories: Sequence[str],
    stacks: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    colours: Mapping[str, str] | None = None,
    limit: int = MAX_BARS,
    horizontal: bool = False,
) -> dict[str, Any]:
    """Stacked bars, one stack per key of `stacks` (e.g. sanction status); vertical, or
    horizontal (long category names, read top-down in the given order)."""
    categories = list(categories)[:limit]
    # The axis of the categories and the axis of the counts.
    along, across = ("y", "x") if horizontal else ("x", "y")
    data = []
    for i, (name, values) in enumerate(stacks.items()):
        shown = name.replace("_", " ").capitalize()
        trace: dict[str, Any] = {
            "type": "bar",
            "name": shown,
            along: categories,
            across: list(values)[:limit],
            "marker": {"color": (colours or {}).get(name, PALETTE[i % len(PALETTE)])},
            "hovertemplate": f"%{{{along}}}<br>{shown}: %{{{across}}}<extra></extra>",
        }
        if horizontal:
            trace["orientation"] = "h"
        data.append(trace)
    # Counts: whole-number ticks, one per unit when the largest stack is small (no "0.2").
    totals = [sum(v) for v in zip(*(list(vs)[:limit] for vs in stacks.values()), strict=False)]
    count_axis: dict[str, Any] = {"automargin": True, "tickformat": ",d", "rangemode": "tozero"}
    if totals and max(totals) <= 10:
        count_axis["dtick"] = 1
    titles = {"x": x_title, "y": y_title}
    axes: dict[str, Any] = {
        f"{across}axis": {"title": {"text": titles[across]}, **count_axis},
        f"{along}axis": {"title": {"text": titles[along]}, "automargin": True},
    }
    extra: dict[str, Any] = {"height": 420}
    if horizontal:
        axes["yaxis"]["autorange"] = "reversed"
        extra = {
            # Below the x axis title, in the stacks' order (Plotly reverses it for stacks).
            "legend": {
                "orientation": "h",
                "y": 0.02,
                "yanchor": "bottom",
                "yref": "container",
                "traceorder": "normal",
            },
            "margin": {"l": 60, "r": 20, "t": 60, "b": 110},
            "height": max(320, 170 + 30 * len(categories)),
        }
    return {
        "data": data,
        "layout": _layout(title, x_title, y_title, barmode="stack", **axes, **extra),
    }
