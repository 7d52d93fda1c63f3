"""Speed and memory of the portfolio metrics on synthetic portfolios of 10k and 100k projects.

The projects are made by recombining the real texts of the 2023 and 2024 federal inventories
with a seeded RNG (no database): each takes the name and a shuffled subset of the sentences of
one real use case, sometimes a sentence of another, random tools, capabilities, costs, stages,
goals and a unit in a 40-agency tree. Every size runs in a fresh process so that its peak
memory (max RSS) is its own.

Prints, per size: the time of the full computation (overlap + clusters + fragmentation +
alignment + goal suggestions + coverage) and of its stages, the peak memory, counts; the
ratio time(100k) / time(10k); the similar-project query p95 at the largest size; and at 10k
the time of a naive dense all-pairs cosine over the same TF-IDF matrix, as a speed-up ratio.

    .venv/bin/python benchmarks/bench_metrics.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INVENTORIES = ROOT / "portfolio" / "fixtures" / "inventories"
TIME_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 2048.0
RATIO_LIMIT = 15.0
QUERY_P95_LIMIT_MS = 50.0

CAPABILITIES = (
    "Transcription",
    "OCR",
    "Translation",
    "Chatbot",
    "Document summarisation",
    "Code generation",
    "Fraud detection",
    "Network anomaly detection",
    "Image classification",
    "Forecasting",
    "Legal research",
    "Writing assistance",
    "Search",
    "Entity resolution",
    "Sentiment analysis",
)
STAGES = ("idea", "development", "pilot", "production", "retired")
TECHNIQUES = ("classical_ml", "computer_vision", "generative", "nlp", "agentic", "other")
GOALS = (
    (
        "Faster, simpler public services",
        "Chatbots and virtual agents answering questions, "
        "automated intake, claims and benefits processing, translation.",
    ),
    (
        "Digitise and understand documents",
        "Turn scanned paper, forms and records into "
        "searchable data: OCR, classification, extraction, summarisation, records management.",
    ),
    (
        "Protect systems and detect fraud",
        "Find cyber threats, network anomalies, fraud, waste "
        "and abuse early: anomaly detection, risk scoring, investigations.",
    ),
    (
        "Productive workforce",
        "Generative AI assistants for writing, coding, meeting "
        "transcription, search and knowledge management.",
    ),
    (
        "Science, health and environment insight",
        "Models on scientific, medical, weather, "
        "climate, energy and environmental data to predict and monitor.",
    ),
    ("Safer transport", "Aviation, rail and road safety analytics, inspection and maintenance."),
    ("Better workforce planning", "Hiring, training, skills and human capital analytics."),
    ("Inactive legacy goal", "Superseded."),
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _templates() -> list[tuple[str, str, str, str]]:
    out = []
    with (INVENTORIES / "federal-ai-inventory-2023.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.append((row["Title"], row["Summary"], "", ""))
    with (INVENTORIES / "federal-ai-inventory-2024.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.append(
                (
                    row["2_use_case_name"],
                    row["11_purpose_benefits"],
                    row["12_outputs"],
                    row["8_topic_area"].strip(),
                )
            )
    return [t for t in out if t[0].strip()]


def synthetic_portfolio(n: int, seed: int = 7) -> tuple[Any, ...]:
    """(projects, units, goals, tools, governance, reviews) for n projects, reproducibly."""
    from governance.metrics import (
        GoalFacts,
        GovernanceFacts,
        ProjectFacts,
        ReviewFacts,
        ToolFacts,
        UnitFacts,
        scope_units,
    )
    from governance.metrics.text import DEFAULT_TOOLS

    rng = random.Random(seed)
    templates = _templates()
    units = []
    for agency in range(1, 41):
        units.append(UnitFacts(agency, f"A{agency}", f"Agency {agency}"))
        for bureau in range(1, 7):
            uid = agency * 100 + bureau
            units.append(UnitFacts(uid, f"A{agency}-B{bureau}", f"Bureau {bureau}", agency))
    scope = scope_units(units)
    leaf_units = [u.id for u in units if u.parent_id is not None]
    tool_names = [t.name for t in DEFAULT_TOOLS] + ["In-house model", "Unlisted chatbot"]
    goals = [
        GoalFacts(i + 1, title, description, active=i < len(GOALS) - 1)
        for i, (title, description) in enumerate(GOALS)
    ]
    projects = []
    governance = []
    reviews = []
    start = datetime(2025, 1, 1)
    for pid in range(1, n + 1):
        name, purpose, outputs, topic = rng.choice(templates)
        sentences = [s for s in _SENTENCE.split(purpose) if s.strip()] or [purpose]
        kept = [s for s in sentences if rng.random() > 0.25] or sentences[:1]
        if rng.random() < 0.3:
            other = rng.choice(templates)[1]
            kept.append(rng.choice([s for s in _SENTENCE.split(other) if s.strip()] or [other]))
        rng.shuffle(kept)
        if rng.random() < 0.3:
            name = f"{name} ({rng.choice(['phase 2', 'pilot', 'regional', 'v2', 'extension'])})"
        if rng.random() < 0.3:
            outputs = rng.choice(templates)[2]
        unit = rng.choice(leaf_units)
        project = ProjectFacts(
            id=pid,
            name=name,
            unit_id=unit,
            scope_unit_id=scope[unit],
            problem=" ".join(kept),
            outputs=outputs,
            capabilities=tuple(rng.sample(CAPABILITIES, 1)) if rng.random() < 0.2 else (),
            tools=tuple(rng.sample(tool_names, rng.randint(1, 2))) if rng.random() < 0.25 else (),
            techniques=tuple(rng.sample(TECHNIQUES, rng.randint(0, 2))),
            topic=topic,
            stage=rng.choice(STAGES),
            annual_cost=round(rng.lognormvariate(11, 1.2), 2) if rng.random() < 0.6 else None,
            involves_pii=rng.choice((True, False, None)),
            goal_ids=tuple(rng.sample(range(1, len(GOALS) + 1), rng.randint(1, 2)))
            if rng.random() < 0.5
            else (),
            owner_id=rng.randint(1, 500) if rng.random() < 0.9 else None,
        )
        projects.append(project)
        tier = rng.choice(("high", "limited", "minimal", ""))
        required = rng.randint(3, 12) if tier == "high" else 0
        governance.append(
            GovernanceFacts(
                pid,
                tier,
                assessment_current=tier != "" and rng.random() < 0.8,
                required_controls=required,
                met_controls=rng.randint(0, required),
            )
        )
        if rng.random() < 0.4:
            submitted = start + timedelta(days=rng.randint(0, 300))
            decided = submitted + timedelta(days=rng.randint(1, 60)) if rng.random() < 0.7 else None
            reviews.append(
                ReviewFacts(pid, submitted, (submitted + timedelta(days=30)).date(), decided)
            )
    tools = [
        ToolFacts(t.name, t.vendor, t.aliases, rng.choice(("approved", "restricted", "unreviewed")))
        for t in DEFAULT_TOOLS
    ] + [ToolFacts("In-house model", "", (), "approved")]
    return projects, units, goals, tools, governance, reviews


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(n: int, queries: int, naive: bool) -> dict[str, Any]:
    """Run the full computation on n synthetic projects in this process and return figures."""
    from governance.metrics import compute_portfolio_metrics
    from governance.metrics.alignment import suggest_goals
    from governance.metrics.clusters import find_clusters
    from governance.metrics.fragmentation import fragmentation
    from governance.metrics.overlap import ProjectProfiles, find_overlaps
    from governance.metrics.similar import SimilarityIndex
    from governance.metrics.text import Lexicon

    projects, _units, goals, tools, governance, reviews = synthetic_portfolio(n)
    figures: dict[str, Any] = {"n": n, "memory_before_mb": round(_peak_mb(), 1)}

    started = time.perf_counter()
    metrics = compute_portfolio_metrics(
        projects,
        as_of=date(2025, 12, 31),
        goals=goals,
        tools=tools,
        governance=governance,
        reviews=reviews,
    )
    figures["total_s"] = round(time.perf_counter() - started, 2)
    figures["peak_mb"] = round(_peak_mb(), 1)
    figures["pairs"] = len(metrics.pairs)
    figures["clusters"] = len(metrics.clusters)
    figures["cross_unit_clusters"] = sum(c.cross_unit for c in metrics.clusters)
    figures["largest_cluster"] = max((c.size for c in metrics.clusters), default=0)
    figures["share_in_multi_unit_clusters"] = (
        metrics.fragmentation.portfolio.share_in_multi_unit_clusters
    )
    figures["suggestions"] = len(metrics.goal_suggestions)

    # Stage timings (a second run, stage by stage).
    stages: dict[str, float] = {}
    t = time.perf_counter()
    profiles = ProjectProfiles(projects, lexicon=Lexicon.with_catalogue(tools))
    stages["text model and structure"] = time.perf_counter() - t
    t = time.perf_counter()
    rows, _, _ = profiles.candidate_pairs(profiles.params.candidates_per_project)
    stages["neighbour search"] = time.perf_counter() - t
    t = time.perf_counter()
    overlaps = find_overlaps(profiles)
    stages["pairs (search, scores, reasons)"] = time.perf_counter() - t
    t = time.perf_counter()
    clusters = find_clusters(overlaps)
    stages["clusters"] = time.perf_counter() - t
    t = time.perf_counter()
    fragmentation(projects, clusters)
    stages["fragmentation"] = time.perf_counter() - t
    t = time.perf_counter()
    suggest_goals(projects, goals)
    stages["goal suggestions"] = time.perf_counter() - t
    figures["stages_s"] = {k: round(v, 2) for k, v in stages.items()}
    figures["candidate_pairs"] = int(rows.size)

    if queries:
        t = time.perf_counter()
        index = SimilarityIndex.build(projects, tools=tools)
        figures["index_build_s"] = round(time.perf_counter() - t, 2)
        figures["index_bytes"] = len(index.to_bytes())
        rng = random.Random(11)
        drafts, _, _, _, _, _ = synthetic_portfolio(queries, seed=99)
        timings = []
        for draft in drafts:
            t = time.perf_counter()
            index.query(
                name=draft.name if rng.random() < 0.5 else "",
                problem=draft.problem,
                outputs=draft.outputs,
                tools=draft.tools,
                scope_unit_id=draft.scope_unit_id,
            )
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        figures["query_p50_ms"] = round(timings[len(timings) // 2], 2)
        figures["query_p95_ms"] = round(timings[int(len(timings) * 0.95) - 1], 2)
        figures["peak_with_index_mb"] = round(_peak_mb(), 1)

    if naive:
        figures.update(_naive_baseline(profiles))
    return figures


def _naive_baseline(profiles: Any) -> dict[str, Any]:
    """Dense all-pairs cosine over the TF-IDF matrix, top 20 per row, against ours."""
    import numpy as np

    from governance.metrics.text import NeighbourParams, top_k_neighbours

    matrix = profiles.text
    t = time.perf_counter()
    dense = matrix.toarray()
    similarities = dense @ dense.T
    np.fill_diagonal(similarities, -1.0)
    np.argpartition(-similarities, 20, axis=1)[:, :20]
    naive_s = time.perf_counter() - t
    del dense, similarities
    t = time.perf_counter()
    top_k_neighbours(matrix, 20, 0.1, NeighbourParams(exact_below=0))
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    exact = top_k_neighbours(matrix, 20, 0.2, NeighbourParams(exact_below=10**9))
    exact_s = time.perf_counter() - t
    approx = top_k_neighbours(matrix, 20, 0.2, NeighbourParams(exact_below=0))
    found = set(zip(approx[0].tolist(), approx[1].tolist(), strict=True))
    wanted = list(zip(exact[0].tolist(), exact[1].tolist(), strict=True))
    recall = sum(1 for pair in wanted if pair in found) / max(1, len(wanted))
    return {
        "naive_dense_all_pairs_s": round(naive_s, 2),
        "ours_neighbours_s": round(ours_s, 2),
        "exact_sparse_neighbours_s": round(exact_s, 2),
        "speedup_vs_naive": round(naive_s / ours_s, 1) if ours_s else None,
        "approximate_recall_of_exact_top20": round(recall, 4),
    }


def _run_child(n: int, queries: int, naive: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(n), "--queries", str(queries)]
    if naive:
        command.append("--naive")
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _figure(name: str, value: float | int, unit: str = "", *, target: float | None = None) -> None:
    """A figure line for benchmarks/run.py (through its harness when it is importable)."""
    try:
        import harness  # benchmarks/ is on sys.path when the script runs as a file
    except ImportError:
        harness = None
    if harness is not None:
        harness.figure(name, value, unit, target=target)
        return
    text = f"{name}: {value}{f' {unit}' if unit else ''}"
    if target is not None:
        text += f" (target ≤ {target} {unit}, {'met' if value <= target else 'MISSED'})"
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k projects only")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        print(json.dumps(measure(args.child, args.queries, args.naive)))
        return 0

    sizes = [10_000] if args.quick else [10_000, 100_000]
    print("Portfolio metrics on synthetic portfolios (recombined federal inventory texts)")
    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        r = results[n] = _run_child(n, queries=200 if n == sizes[-1] else 50, naive=n == 10_000)
        k = f"{n // 1000}k"
        print(f"\n{n:,} projects: stages (a second, stage-by-stage run)")
        for stage, seconds in r["stages_s"].items():
            print(f"    {stage:34s} {seconds:7.2f} s")
        print(
            f"  pairs {r['pairs']:,}, candidate pairs {r['candidate_pairs']:,}, clusters "
            f"{r['clusters']:,} (cross-unit {r['cross_unit_clusters']:,}, largest "
            f"{r['largest_cluster']}), share of projects in multi-unit clusters "
            f"{r['share_in_multi_unit_clusters']}, goal suggestions {r['suggestions']:,}"
        )
        _figure(f"metrics_{k}_time", r["total_s"], "s", target=TIME_LIMIT_S)
        _figure(f"metrics_{k}_peak_rss", r["peak_mb"], "MB", target=MEMORY_LIMIT_MB)
        if "query_p95_ms" in r:
            print(
                f"  similar-project index: build {r['index_build_s']} s, "
                f"{r['index_bytes'] / 1e6:.1f} MB stored, query p50 {r['query_p50_ms']} ms, "
                f"peak with the index {r['peak_with_index_mb']} MB"
            )
            _figure(f"similar_query_{k}_p95", r["query_p95_ms"], "ms", target=QUERY_P95_LIMIT_MS)
        if "naive_dense_all_pairs_s" in r:
            print(
                f"  neighbours: naive dense all-pairs {r['naive_dense_all_pairs_s']} s, exact "
                f"sparse chunks {r['exact_sparse_neighbours_s']} s, impact-ordered candidates "
                f"{r['ours_neighbours_s']} s (recall of the exact top-20 pairs "
                f"{r['approximate_recall_of_exact_top20']})"
            )
            _figure(f"neighbours_{k}_speedup_vs_naive", r["speedup_vs_naive"], "x")
    if len(results) == 2:
        ratio = results[100_000]["total_s"] / results[10_000]["total_s"]
        _figure("metrics_time_ratio_100k_10k", round(ratio, 1), target=RATIO_LIMIT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
