"""Time and peak memory of each workflow rule, from a run's ``results/benchmarks/``.

Snakemake writes one record per job (``benchmark:`` of the rule): wall seconds and the peak
resident memory (``max_rss``, MB) of the job's processes.  This prints, per rule, the number
of jobs, the median and largest wall time and the largest peak memory, as a markdown table
for BENCHMARKS.md.

Usage (from the repository root)::

    .venv/bin/python benchmarks/rules.py results/benchmarks [--title "default study"]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def rule_table(benchmarks_dir: str | Path) -> pd.DataFrame:
    """One row per rule: jobs, median and max wall s, max peak RSS (MB)."""
    rows = []
    for path in sorted(Path(benchmarks_dir).rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t")
        rule = path.parent.name if path.parent != Path(benchmarks_dir) else path.stem
        rows.append(
            {"rule": rule, "s": float(record["s"].iloc[-1]), "rss_mb": record["max_rss"].iloc[-1]}
        )
    jobs = pd.DataFrame(rows)
    jobs["rss_mb"] = pd.to_numeric(jobs["rss_mb"], errors="coerce")
    table = jobs.groupby("rule").agg(
        jobs=("s", "size"),
        median_s=("s", "median"),
        max_s=("s", "max"),
        max_rss_mb=("rss_mb", "max"),
    )
    return table.reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks_dir")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    table = rule_table(args.benchmarks_dir)
    if args.title:
        print(f"### {args.title}\n")
    print("| rule | jobs | median s | max s | peak memory MB |")
    print("|---|---:|---:|---:|---:|")
    for row in table.itertuples(index=False):
        print(
            f"| {row.rule} | {row.jobs} | {row.median_s:.1f} | {row.max_s:.1f} | "
            f"{row.max_rss_mb:.0f} |"
        )


if __name__ == "__main__":
    main()
