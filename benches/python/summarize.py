"""Summarizes target/bench/compare.tsv (scale, case, run, ms, rss_kb): the
median, min and max per case and scale, peak memory, and the ratios issue 10
sets targets for. Standard library only."""
import collections
import statistics
import sys

times = collections.defaultdict(list)
peak = collections.defaultdict(int)
for line in open(sys.argv[1]):
    scale, case, _run, ms, rss = line.rstrip("\n").split("\t")
    times[int(scale), case].append(int(ms))
    peak[int(scale), case] = max(peak[int(scale), case], int(rss or 0))

for scale in sorted({s for s, _ in times}):
    print(f"{scale}x")
    med = {}
    for (s, case), ts in sorted(times.items()):
        if s != scale:
            continue
        med[case] = statistics.median_low(ts)
        print(f"  {case:24} {med[case]:>9} ms  (min {min(ts)}, max {max(ts)})  peak {peak[s, case] / 1024:>6.0f} MB")
    ratio = lambda a, b: med[a] / med[b] if a in med and b in med and med[b] else float("nan")
    print(f"  refresh / floor                 {ratio('c360_refresh', 'floor'):.2f}  (target <= 1.5)")
    print(f"  refresh / plain pipeline        {ratio('c360_refresh', 'plain_pipeline'):.2f}  (target <= 0.5)")
    print(f"  refresh+KPIs / plain pipeline   {ratio('c360_refresh_and_kpis', 'plain_pipeline'):.2f}")
    print(f"  refresh / notebook (customers)  {ratio('c360_refresh', 'notebook_customers'):.2f}  (target <= 1)")
    if "notebook_lines" in med:
        print(f"  refresh / notebook (lines)      {ratio('c360_refresh', 'notebook_lines'):.2f}")
    if "c360_ingest" in med:
        ingest = (med["c360_import"] + med["c360_ingest"]) / (med["plain_copy"] + med["plain_cleaning"])
        print(f"  import+ingest / COPY+cleaning   {ingest:.2f}")
    if "c360_load_csv" in med:
        print(f"  load_csv / COPY+cleaning        {med['c360_load_csv'] / (med['plain_copy'] + med['plain_cleaning']):.2f}  (target <= 1)")
