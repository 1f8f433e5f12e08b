"""make bench: each figure, ours against the alternative a user would pick, interleaved
(A B A B ...) in one run on one machine; medians go to bench/results.md with the ratios.

BENCH_RUNS (default 7) sets the repetitions, BENCH_ROWS (default 1000000) the big-table size.
PostgreSQL and MariaDB figures use TEST_POSTGRESQL_URL and TEST_MYSQL_URL (skipped without).
BENCH_ONLY (e.g. "6") runs only those figures; results.md keeps the other figures' last rows.
Each figure is a module of its own (figN_*.py, a `measure(work, results)`); harness.py holds
what they share.
"""
import os
import tempfile
from pathlib import Path

import fig1_cli
import fig2_history
import fig3_bigtable
import fig4_stall
import fig5_bigmodel
import fig6_backfill
import fig7_long_history
from harness import Results

FIGURES = {"1": fig1_cli, "2": fig2_history, "3": fig3_bigtable, "4": fig4_stall, "5": fig5_bigmodel,
           "6": fig6_backfill, "7": fig7_long_history}


def main():
    figures = os.environ.get("BENCH_ONLY", "".join(FIGURES))
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise SystemExit(f"bench: BENCH_ONLY: no figure {', '.join(sorted(unknown))} (say 6, or 146)")
    results = Results()
    with tempfile.TemporaryDirectory(prefix="myapp-bench-") as folder:
        for number, figure in FIGURES.items():
            if number in figures:
                work = Path(folder) / number
                work.mkdir()
                figure.measure(work, results)
    results.write(figures)


if __name__ == "__main__":
    main()
