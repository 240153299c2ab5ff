#!/usr/bin/python3
"""Runs heap_bench with repetitions and prints median Heap/malloc ratios from the same run.

Usage: bench/heap_ratios.py [path/to/heap_bench] [repetitions]
The machine is small and noisy: only ratios taken within one run mean anything.
"""
import json
import statistics
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "build/release/bench/heap_bench"
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5

out = subprocess.run(
    [binary, f"--benchmark_repetitions={reps}", "--benchmark_format=json",
     "--benchmark_min_time=0.2"],
    check=True, capture_output=True, text=True).stdout
runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]


def median(name, field="real_time"):
    values = [b[field] for b in runs if b["run_name"] == name]
    if not values:
        sys.exit(f"heap_ratios: no runs of {name}")
    return statistics.median(values)


print(f"{'case':<28}{'malloc':>12}{'Heap':>12}{'Heap/malloc':>14}")
for size in (16, 64, 256, 1024, 4096):
    m = median(f"BM_AllocFree<MallocApi>/{size}")
    h = median(f"BM_AllocFree<HeapApi>/{size}")
    print(f"{'alloc+free ' + str(size) + ' B':<28}{m:>10.1f}ns{h:>10.1f}ns{h / m:>14.2f}")
m = median("BM_BatchMixed<MallocApi>") / 1000
h = median("BM_BatchMixed<HeapApi>") / 1000
print(f"{'1000 mixed, shuffled free':<28}{m:>10.1f}ns{h:>10.1f}ns{h / m:>14.2f}   (per block)")
m = median("BM_ReleaseAll_Malloc/iterations:5", "ns_per_block") * 1e9
h = median("BM_ReleaseAll_Heap/iterations:5", "ns_per_block") * 1e9
print(f"{'release 1M blocks':<28}{m:>10.2f}ns{h:>10.2f}ns{h / m:>14.3f}   (per block; goal < 20 ns)")
