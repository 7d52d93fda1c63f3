"""Chart functions: pure, no database. Titles, axis titles, hover text, palette, and caps on the
number of marks whatever the size of the input."""

from __future__ import annotations

import json

import pytest

from governance import charts


def _title(figure) -> str:
    return figure["layout"]["title"]["text"]


def test_bar_has_titles_hover_and_caps_bars():
    items = [(f"Unit {i}", i) for i in range(100_000)]
    figure = charts.bar(items, title="Projects by unit", x_title="Projects", y_title="Unit")
    assert _title(figure) == "Projects by unit"
    assert figure["layout"]["xaxis"]["title"]["text"] == "Projects"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Unit"
    trace = figure["data"][0]
    assert len(trace["y"]) == charts.MAX_BARS
    assert trace["y"][0] == "Unit 99999"
    assert trace["y"][-1].startswith("Other (")
    assert sum(trace["x"]) == sum(range(100_000))
    assert "hovertemplate" in trace
    json.dumps(figure)


@pytest.mark.parametrize("n", [0, 1, 20])
def test_bar_small_inputs(n):
    figure = charts.bar([(str(i), i) for i in range(n)], title="t", x_title="x", y_title="y")
    assert charts.mark_count(figure) == n


def test_compliance_heatmap_percent_and_none():
    figure = charts.compliance_heatmap(["A", "B"], ["EU", "NIST"], [[1.0, None], [0.25, 0.5]])
    trace = figure["data"][0]
    assert trace["z"] == [[100.0, None], [25.0, 50.0]]
    assert trace["zmin"] == 0 and trace["zmax"] == 100
    # a cell where no control applies is blank, not a lone "%"
    assert trace["text"] == [["100%", ""], ["25%", "50%"]]
    assert trace["customdata"][0][1] == "no control of it applies"
    assert figure["layout"]["xaxis"]["title"]["text"] == "Framework"
    assert "Business unit" in figure["layout"]["yaxis"]["title"]["text"]


def test_compliance_heatmap_caps_rows():
    units = [f"U{i}" for i in range(500)]
    figure = charts.compliance_heatmap(units, ["EU"], [[0.5]] * 500)
    assert len(figure["data"][0]["y"]) == charts.MAX_HEATMAP


def test_count_heatmap_keeps_busiest():
    counts = {(f"U{i}", f"C{j}"): i + j for i in range(100) for j in range(100)}
    figure = charts.count_heatmap(
        [f"U{i}" for i in range(100)],
        [f"C{j}" for j in range(100)],
        counts,
        title="Fragmentation",
        x_title="Cluster",
        y_title="Unit",
    )
    trace = figure["data"][0]
    assert charts.mark_count(figure) == charts.MAX_HEATMAP**2
    assert trace["y"][0] == "U99" and trace["x"][0] == "C99"


def test_sunburst_caps_marks_and_keeps_totals():
    unit_spend = [(f"Goal {g}", f"Unit {u}", 1000.0) for g in range(20) for u in range(500)]
    projects = [
        (f"Goal {g}", f"Unit {u}", f"P{g}-{u}", 500.0) for g in range(20) for u in range(500)
    ]
    figure = charts.alignment_sunburst(unit_spend, projects)
    trace = figure["data"][0]
    assert charts.mark_count(figure) <= charts.MAX_SUNBURST_MARKS
    assert len(set(trace["ids"])) == len(trace["ids"])
    roots = [v for v, p in zip(trace["values"], trace["parents"], strict=True) if p == ""]
    assert sum(roots) == pytest.approx(20 * 500 * 1000.0)
    assert trace["branchvalues"] == "total"
    assert _title(figure)


def test_sunburst_children_never_exceed_parent():
    figure = charts.alignment_sunburst(
        [("G", "U", 100.0)], [("G", "U", "P1", 60.0), ("G", "U", "P2", 30.0)]
    )
    trace = figure["data"][0]
    by_id = dict(zip(trace["ids"], trace["values"], strict=True))
    children: dict[str, float] = {}
    for parent, value in zip(trace["parents"], trace["values"], strict=True):
        if parent:
            children[parent] = children.get(parent, 0) + value
    for parent, total in children.items():
        assert total <= by_id[parent] + 1e-9
    assert "Other projects" in trace["labels"]


def test_sunburst_empty():
    assert charts.mark_count(charts.alignment_sunburst([], [])) == 0


def test_bubbles_aggregate_beyond_the_limit():
    units = [
        {"unit": f"U{i}", "cost": i, "benefit": 2 * i, "projects": 10, "high": 5}
        for i in range(1000)
    ]
    figure = charts.risk_value_bubbles(units)
    trace = figure["data"][0]
    assert len(trace["x"]) == charts.MAX_BUBBLES
    assert trace["text"][-1] == "Other units (941)"
    assert sum(c[0] for c in trace["customdata"]) == 10_000
    assert figure["layout"]["xaxis"]["title"]["text"] == "Annual cost"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Expected annual benefit"
    assert trace["marker"]["color"][0] == 50.0
    # money axes start at zero (no empty negative half when no benefit is recorded)
    assert figure["layout"]["xaxis"]["rangemode"] == "tozero"
    assert figure["layout"]["yaxis"]["rangemode"] == "tozero"


def test_trend_lines_and_palette():
    figure = charts.trend_lines({"a": [("2026-01-01", 1.0)], "b": [("2026-01-01", 2.0)]})
    assert [t["name"] for t in figure["data"]] == ["a", "b"]
    assert figure["data"][0]["line"]["color"] in charts.OKABE_ITO.values()
    assert figure["layout"]["xaxis"]["title"]["text"] == "Date"
    shares = charts.trend_lines({"s": [("2026-01-01", 0.5), ("2026-01-02", None)]}, percent=True)
    assert shares["data"][0]["y"] == [50.0, None]
    assert shares["layout"]["yaxis"]["range"] == [0, 100]


def test_trend_lines_with_a_few_days_show_the_last_week_by_day():
    # one snapshot: Plotly alone would zoom into milliseconds around the single point
    axis = charts.trend_lines({"a": [("2026-11-28", 1.0)]})["layout"]["xaxis"]
    assert axis["type"] == "date"
    assert axis["range"] == ["2026-11-21 12:00:00", "2026-11-28 12:00:00"]
    assert axis["dtick"] == charts.DAY_MS
    assert axis["tickformat"] == "%-d %b" and axis["hoverformat"] == "%-d %b %Y"
    # a long history keeps Plotly's own range and ticks, labelled by day
    long = charts.trend_lines({"a": [("2026-01-01", 1.0), ("2026-11-28", 2.0)]})
    assert "range" not in long["layout"]["xaxis"] and "dtick" not in long["layout"]["xaxis"]
    assert long["layout"]["xaxis"]["tickformat"] == "%-d %b %Y"


def test_stacked_bar_uses_sanction_colours():
    figure = charts.stacked_bar(
        ["U1", "U2"],
        {"approved": [1, 2], "prohibited": [0, 1]},
        title="Adoption",
        x_title="Unit",
        y_title="Adoptions",
        colours=charts.SANCTION_COLOURS,
    )
    assert figure["layout"]["barmode"] == "stack"
    assert figure["data"][1]["marker"]["color"] == charts.OKABE_ITO["vermillion"]


def test_stacked_counts_have_whole_number_ticks():
    # one project under one goal: ticks 0 and 1, not 0.2, 0.4, …
    small = charts.stacked_bar(
        ["Goal"], {"idea": [0], "pilot": [1]}, title="t", x_title="x", y_title="y", horizontal=True
    )
    axis = small["layout"]["xaxis"]
    assert axis["dtick"] == 1 and axis["tickformat"] == ",d"
    assert small["data"][0]["orientation"] == "h" and small["data"][0]["y"] == ["Goal"]
    # larger counts keep Plotly's tick spacing, still as whole numbers
    large = charts.stacked_bar(["U"], {"approved": [40]}, title="t", x_title="x", y_title="y")
    assert (
        "dtick" not in large["layout"]["yaxis"] and large["layout"]["yaxis"]["tickformat"] == ",d"
    )


def test_cap_items_other_sums_the_rest():
    capped = charts.cap_items([("a", 5), ("b", 3), ("c", 1), ("d", 1)], limit=3)
    assert capped == [("a", 5.0), ("b", 3.0), ("Other (2)", 2.0)]
