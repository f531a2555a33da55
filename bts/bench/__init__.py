"""The benchmark against stock Rasa: REST clients, workloads, measurements and the report.

`make bench` (scripts/bench.py) runs it; scripts/bench_load.py repeats the load part alone. The
results and what limits them are in docs/benchmark.md.
"""
