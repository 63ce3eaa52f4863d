#!/usr/bin/env python3
"""Turns the records of one bench/run.sh run into the markdown table of docs/PERFORMANCE.md.

Every record is one JSON line in loadgen's format (bench/loadgen/report.h); ghz's and
redis-benchmark's outputs are converted into that format first. Subcommands:

  report.py field RESULTS LABEL PATH          print one figure, e.g. `web run.ops_per_s`
  report.py ghz GHZ_JSON LABEL CPU_SECONDS    ghz -O json output -> one record
  report.py redis-benchmark CSV LABEL_PREFIX  redis-benchmark --csv output -> one record per test
  report.py table RESULTS MODE [NOTE ...]     the markdown report
"""

import json
import os
import statistics
import sys


def load(path):
    with open(path) as f:
        return {r["label"]: r for r in map(json.loads, filter(str.strip, f))}


def get(record, path):
    for key in path.split("."):
        if record is None:
            return None
        record = record.get(key)
    return record


def ghz_record(path, label, server_cpu_seconds):
    with open(path) as f:
        ghz = json.load(f)
    seconds = ghz["total"] / 1e9
    ok = ghz.get("statusCodeDistribution", {}).get("OK", 0)
    latency = {p["percentage"]: p["latency"] / 1e3 for p in ghz.get("latencyDistribution") or []}
    errors = {k: v for k, v in ghz.get("statusCodeDistribution", {}).items() if k != "OK"}
    return {"label": label, "target": "ghz", "scenario": "get", "loop": "closed",
            "run": {"ops": ok, "seconds": seconds, "ops_per_s": ok / seconds,
                    "p50_us": latency.get(50), "p99_us": latency.get(99), "p999_us": None,
                    "errors": errors,
                    "server_cpu_us_per_op": server_cpu_seconds * 1e6 / ok if ok else None,
                    "server_cpu_util": server_cpu_seconds / seconds}}


def redis_benchmark_records(path, prefix):
    with open(path) as f:
        lines = [line.strip().replace('"', "").split(",") for line in f if line.strip()]
    header, rows = lines[0], lines[1:]
    for row in rows:
        values = dict(zip(header, row))
        yield {"label": f"{prefix}-{values['test'].lower()}", "target": "redis-benchmark",
               "scenario": values["test"].lower(), "loop": "closed", "in_flight": 50,
               "run": {"ops_per_s": float(values["rps"]),
                       "p50_us": float(values["p50_latency_ms"]) * 1e3,
                       "p99_us": float(values["p99_latency_ms"]) * 1e3, "errors": {}}}


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def figures(records):
    """A function from (run label, dotted path) to that figure of that run, or None."""
    return lambda label, path: get(records.get(label), path)


def percent(share):
    return None if share is None else 100 * share


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def paired(records, numerator, denominator):
    """Server CPU per request, `numerator`'s run ÷ `denominator`'s, in each round of run.sh's paired
    runs (labels `paired-N-<label>`, made back to back), and the median of those ratios; (None, [])
    without paired runs."""
    rounds = []
    while True:
        n = len(rounds) + 1
        value = ratio(get(records.get(f"paired-{n}-{numerator}"), "run.server_cpu_us_per_op"),
                      get(records.get(f"paired-{n}-{denominator}"), "run.server_cpu_us_per_op"))
        if value is None:
            return (statistics.median(rounds) if rounds else None), rounds
        rounds.append(value)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        total_kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return f"{os.cpu_count()} CPUs ({model}), {total_kib / 2**20:.1f} GiB RAM"


def errors_text(record):
    errors = get(record, "run.errors") or {}
    cancelled = get(record, "run.cancelled")
    if cancelled:
        errors = dict(errors, cancelled=cancelled)
    if not errors:
        return "none"
    ops = get(record, "run.ops") or 0
    total = ops + sum(errors.values())
    return ", ".join(f"{k} {v} ({100 * v / total:.2f}%)" for k, v in sorted(errors.items()))


def runs_table(records):
    rows = ["| run | target | scenario | loop | in flight | sessions | ops/s | p50 ms | p99 ms "
            "| p99.9 ms | server µs/op | server cores | backend µs/op | client µs/op "
            "| CPUs client/server | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, r in records.items():
        if "run" not in r:
            continue
        loop = r.get("loop", "")
        if loop == "open":
            loop = f"open @ {r['rate']:,.0f}/s"
        ms = lambda key: fmt(None if get(r, key) is None else get(r, key) / 1e3, 3)
        rows.append(" | ".join([
            f"| {label}", r.get("target", ""), r.get("scenario", ""), loop,
            fmt(r.get("in_flight"), 0), fmt(r.get("sessions") if "load" in r else None, 0),
            fmt(get(r, "run.ops_per_s"), 0), ms("run.p50_us"), ms("run.p99_us"),
            ms("run.p999_us"), fmt(get(r, "run.server_cpu_us_per_op")),
            fmt(get(r, "run.server_cpu_util"), 2), fmt(get(r, "run.backend_cpu_us_per_op")),
            fmt(get(r, "run.client_cpu_us_per_op")),
            f"{r['client_cpus']} / {r['server_cpus']}" if "client_cpus" in r
            else "(taskset 0 / 1)", errors_text(r)]) + " |")
    return rows


def memory_table(records):
    rows = ["| store | sessions loaded | load rate /s | RSS growth B/session "
            "| used_memory growth B/session | server µs/create |",
            "|---|---|---|---|---|---|"]
    for label, r in records.items():
        if "load" not in r or get(r, "load.ops") < 100_000:
            continue
        rows.append(" | ".join([
            f"| {label}", fmt(get(r, "load.ops"), 0), fmt(get(r, "load.ops_per_s"), 0),
            fmt(get(r, "load.server_rss_bytes_per_op"), 0),
            fmt(get(r, "load.store_bytes_per_op"), 0),
            fmt(get(r, "load.server_cpu_us_per_op"))]) + " |")
    return rows


# The run whose load phase gives sessiond's bytes per session (P4).
MEMORY_RUN = "sessiond-web-1000000"


def largest_web(records):
    scaled = [r for label, r in records.items() if label.startswith("sessiond-web-")
              and r.get("loop") == "closed" and "load" in r]
    return max(scaled, key=lambda r: r["sessions"], default=None)


def targets_table(records):
    R = figures(records)
    rows = ["| target | figure | value | target | met |", "|---|---|---|---|---|"]

    def add(name, figure, value, goal, met):
        verdict = "n/a" if value is None else ("met" if met(value) else "NOT met")
        rows.append(f"| {name} | {figure} | {fmt(value, 2)} | {goal} | {verdict} |")

    def add_cpu_ratio(name, numerator, denominator, figure, goal, met):
        """A target on server CPU per request, numerator's ÷ denominator's: the paired rounds'
        median when run.sh made them, else the single runs' ratio."""
        single = ratio(R(numerator, "run.server_cpu_us_per_op"),
                       R(denominator, "run.server_cpu_us_per_op"))
        median, rounds = paired(records, numerator, denominator)
        if median is None:
            add(name, figure, single, goal, met)
        else:
            add(name, f"median of {len(rounds)} paired rounds "
                f"({', '.join(fmt(r, 2) for r in rounds)}); the single runs: {fmt(single, 2)}, "
                + figure, median, goal, met)

    add_cpu_ratio("P1 web CPU", "sessiond-web", "redis-web", "sessiond server µs per web request "
        f"({fmt(R('sessiond-web', 'run.server_cpu_us_per_op'))}) ÷ Redis "
        f"({fmt(R('redis-web', 'run.server_cpu_us_per_op'))}); throughput "
        f"{fmt(R('sessiond-web', 'run.ops_per_s'), 0)} vs "
        f"{fmt(R('redis-web', 'run.ops_per_s'), 0)} web/s", "≤ 1.0", lambda v: v <= 1.0)
    add_cpu_ratio("B1 batched web CPU", "sessiond-web-batched", "redis-web",
        "sessiond server µs per web request through the C++ client with "
        f"batching ({fmt(R('sessiond-web-batched', 'run.server_cpu_us_per_op'))}) ÷ Redis "
        f"unpipelined ({fmt(R('redis-web', 'run.server_cpu_us_per_op'))}); throughput "
        f"{fmt(R('sessiond-web-batched', 'run.ops_per_s'), 0)} web/s", "≤ 1.0",
        lambda v: v <= 1.0)
    b1_p99 = ratio(R("sessiond-web-batched", "run.p99_us"), R("sessiond-web-client", "run.p99_us"))
    add("B1 batched p99", "web p99 through the C++ client with batching "
        f"({fmt(R('sessiond-web-batched', 'run.p99_us'), 0)} µs) ÷ without "
        f"({fmt(R('sessiond-web-client', 'run.p99_us'), 0)} µs), 64 in flight", b1_p99, "≤ 1.0",
        lambda v: v <= 1.0)
    p2 = ratio(R("sessiond-get", "run.ops_per_s"), R("echo", "run.ops_per_s"))
    add("P2 get vs echo", f"get ops/s ({fmt(R('sessiond-get', 'run.ops_per_s'), 0)}) ÷ echo "
        f"ops/s ({fmt(R('echo', 'run.ops_per_s'), 0)}), 64 in flight", p2, "≥ 0.9",
        lambda v: v >= 0.9)
    open_run = records.get("sessiond-web-open")
    p3 = None if open_run is None else get(open_run, "run.p99_us") / 1e3
    add("P3 web p99 at half load", "open-loop p99 ms at "
        f"{fmt(get(open_run, 'rate'), 0)} web/s (half the closed-loop rate; server "
        f"{fmt(get(open_run, 'run.server_cpu_util'), 2)} cores, generator "
        f"{fmt(get(open_run, 'run.client_cpu_util'), 2)} cores busy)", p3, "≤ 1 ms",
        lambda v: v <= 1.0)
    p4 = ratio(R(MEMORY_RUN, "load.server_rss_bytes_per_op"),
               R("redis-memory", "load.store_bytes_per_op"))
    add("P4 memory", "sessiond RSS growth B/session "
        f"({fmt(R(MEMORY_RUN, 'load.server_rss_bytes_per_op'), 0)}) ÷ Redis used_memory growth "
        f"B/session ({fmt(R('redis-memory', 'load.store_bytes_per_op'), 0)}), 1 M sessions", p4,
        "≤ 1.0", lambda v: v <= 1.0)
    big = largest_web(records)
    p5 = ratio(get(big, "run.ops_per_s"), R("sessiond-web", "run.ops_per_s"))
    add("P5 scale", f"web ops/s with {fmt(get(big, 'sessions'), 0)} sessions "
        f"({fmt(get(big, 'run.ops_per_s'), 0)}) ÷ with "
        f"{fmt(R('sessiond-web', 'sessions'), 0)} ({fmt(R('sessiond-web', 'run.ops_per_s'), 0)})",
        p5, "≥ 0.8", lambda v: v >= 0.8)
    cached, uncached, redis = ("sessiond-web-read-mostly-cached", "sessiond-web-read-mostly",
                               "redis-web-read-mostly")
    add_cpu_ratio("N1 near-cache read-mostly CPU", cached, redis,
        "sessiond server µs per read-mostly web request through "
        f"the C++ client with a near cache ({fmt(R(cached, 'run.server_cpu_us_per_op'))}; without: "
        f"{fmt(R(uncached, 'run.server_cpu_us_per_op'))}) ÷ Redis unpipelined "
        f"({fmt(R(redis, 'run.server_cpu_us_per_op'))}); web tier (generator) µs per request "
        f"{fmt(R(cached, 'run.client_cpu_us_per_op'))} with the cache, "
        f"{fmt(R(uncached, 'run.client_cpu_us_per_op'))} without, "
        f"{fmt(R(redis, 'run.client_cpu_us_per_op'))} on Redis; throughput "
        f"{fmt(R(cached, 'run.ops_per_s'), 0)} vs {fmt(R(redis, 'run.ops_per_s'), 0)} web/s; "
        f"{fmt(percent(R(cached, 'run.near_cache_hit_ratio')), 0)} % of Gets answered by the cache",
        "≤ 0.3", lambda v: v <= 0.3)
    if "rocksdb-sync-commit" not in records:
        rows.append("| P6 durable commit | RocksDB sync commit ÷ memory commit "
                    "| n/a (no rocksdb backend yet) | ≥ 0.3 | n/a |")
    else:
        p6 = ratio(R("rocksdb-sync-commit", "run.ops_per_s"), R("sessiond-commit", "run.ops_per_s"))
        add("P6 durable commit", "RocksDB --durability=sync commit ops/s "
            f"({fmt(R('rocksdb-sync-commit', 'run.ops_per_s'), 0)}) ÷ memory commit ops/s "
            f"({fmt(R('sessiond-commit', 'run.ops_per_s'), 0)}), 64 in flight", p6, "≥ 0.3",
            lambda v: v >= 0.3)
    return rows


def ratios_table(records):
    R = figures(records)
    pairs = [("sessiond-get", "redis-get", "get: sessiond ÷ Redis"),
             ("sessiond-web", "redis-web", "web: sessiond ÷ Redis"),
             ("sessiond-web-batched", "redis-web-pipelined",
              "web: sessiond, client batching ÷ Redis pipelined (4 connections)"),
             ("sessiond-web-batched", "sessiond-web-client", "web: client batching on ÷ off"),
             ("sessiond-web-read-mostly-cached", "redis-web-read-mostly",
              "read-mostly web: sessiond, client near cache ÷ Redis"),
             ("sessiond-web-read-mostly-cached", "redis-web-read-mostly-pipelined",
              "read-mostly web: sessiond, client near cache ÷ Redis pipelined (4 connections)"),
             ("sessiond-web-read-mostly", "redis-web-read-mostly",
              "read-mostly web: sessiond, client without near cache ÷ Redis"),
             ("sessiond-web-read-mostly-cached", "sessiond-web-read-mostly",
              "read-mostly web: client near cache on ÷ off"),
             ("sessiond-get", "echo", "get ÷ empty echo rpc"),
             ("sessiond-web", "echo", "web ÷ empty echo rpc"),
             ("ghz-get", "sessiond-get", "ghz get ÷ loadgen get (cross-check)")]
    rows = ["| comparison | throughput ratio | server µs/op ratio | client µs/op ratio |",
            "|---|---|---|---|"]
    cpu, client = "run.server_cpu_us_per_op", "run.client_cpu_us_per_op"
    for a, b, name in pairs:
        throughput = ratio(R(a, "run.ops_per_s"), R(b, "run.ops_per_s"))
        rows.append(f"| {name} | {fmt(throughput, 2)} | {fmt(ratio(R(a, cpu), R(b, cpu)), 2)} | "
                    f"{fmt(ratio(R(a, client), R(b, client)), 2)} |")
    # On the Redis backend the server side of a request is sessiond plus its Redis.
    both = lambda label: (None if R(label, cpu) is None or R(label, "run.backend_cpu_us_per_op") is None
                          else R(label, cpu) + R(label, "run.backend_cpu_us_per_op"))
    rows.append("| web: sessiond on Redis ÷ Redis direct (server µs: sessiond + its Redis) | "
                f"{fmt(ratio(R('sessiond-redis-web', 'run.ops_per_s'), R('redis-web', 'run.ops_per_s')), 2)} | "
                f"{fmt(ratio(both('sessiond-redis-web'), R('redis-web', cpu)), 2)} | |")
    # The PostgreSQL backend, likewise: sessiond plus every PostgreSQL process, vs memory and Redis.
    for scenario in ("web", "commit"):
        for other, name in ((f"sessiond-{scenario}", "the memory store"),
                            (f"sessiond-redis-{scenario}", "the Redis backend (sessiond + Redis)")):
            rows.append(f"| {scenario}: sessiond on PostgreSQL ÷ {name} (server µs: sessiond + "
                        "PostgreSQL) | "
                        f"{fmt(ratio(R(f'sessiond-postgres-{scenario}', 'run.ops_per_s'), R(other, 'run.ops_per_s')), 2)} | "
                        f"{fmt(ratio(both(f'sessiond-postgres-{scenario}'), both(other) if 'redis' in other else R(other, cpu)), 2)} | |")
    replicas = [R(f"sessiond-redis-web-replica-{n}", "run.ops_per_s") for n in (1, 2)]
    rows.append("| web: two sessiond replicas on one Redis ÷ one replica | "
                f"{fmt(ratio(sum(replicas) if None not in replicas else None, R('sessiond-redis-web', 'run.ops_per_s')), 2)} | | |")
    # A web request is two rpcs: twice the empty rpc is the least it can cost the server on gRPC.
    floor = R("echo", cpu)
    rows.append("| 2 empty echo rpcs (gRPC's floor for a web request) ÷ Redis web | | "
                f"{fmt(ratio(2 * floor if floor else None, R('redis-web', cpu)), 2)} | |")
    return rows


def table(path, mode, notes):
    records = load(path)
    out = [f"Mode: **{mode}**. Machine: {machine()}. Servers pinned to CPU 1, load generators "
           "(loadgen, ghz, redis-benchmark) to CPU 0 with taskset; the CPUs column is what each "
           "loadgen run read back with sched_getaffinity.", ""]
    out += ["### Targets", ""] + targets_table(records) + [""]
    out += ["### Ratios", ""] + ratios_table(records) + [""]
    out += ["### Runs", ""] + runs_table(records) + [""]
    out += ["### Memory (load phase of the runs with ≥ 100 k sessions)", ""]
    out += memory_table(records)
    out += [""] + [f"- {n}" for n in notes]
    print("\n".join(out))


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "field" and len(argv) == 5:
        value = get(load(argv[2]).get(argv[3]), argv[4])
        if value is None:
            sys.exit(f"report.py: no {argv[4]} in run {argv[3]}")
        print(value)
    elif command == "ghz" and len(argv) == 5:
        print(json.dumps(ghz_record(argv[2], argv[3], float(argv[4]))))
    elif command == "redis-benchmark" and len(argv) == 4:
        for record in redis_benchmark_records(argv[2], argv[3]):
            print(json.dumps(record))
    elif command == "table" and len(argv) >= 4:
        table(argv[2], argv[3], argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
