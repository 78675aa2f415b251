#!/usr/bin/env python3
"""Turns the JSON reports written by scripts/perf.sh into the Markdown tables of
docs/PERFORMANCE.md. Usage: perf-summary.py DIR"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])


def ms(us):
    return f"{us / 1000:.2f}"


print("## Machine\n")
print((out / "machine.md").read_text())
print("## Load scenarios (server on one core, load tool on the other)\n")
print("| run | class | requests/s | successes/s | p50 ms | p90 ms | p99 ms | max ms "
      "| server CPU µs/request | server peak RSS MiB | answers |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for path in sorted(out.glob("*.json")):
    if path.stem == "argon2-baseline":
        continue
    r = json.loads(path.read_text())
    server = r.get("server") or {}
    for name, c in sorted(r["classes"].items()):
        lat = c["latency"]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(c["answers"].items()))
        print(f"| {path.stem} | {name} | {c['requests_per_sec']:.0f} | {c['successes_per_sec']:.0f} "
              f"| {ms(lat['p50_us'])} | {ms(lat['p90_us'])} | {ms(lat['p99_us'])} | {ms(lat['max_us'])} "
              f"| {server.get('cpu_us_per_request', 0):.0f} | {server.get('peak_rss_kib', 0) / 1024:.0f} "
              f"| {answers} |")
    wc = r.get("wrong_codes")
    if wc:
        print(f"| {path.stem} | lockout check | | | | | | | | | evaluated {wc['evaluated_attempts']} "
              f"of budget {wc['budget']} ({wc['users']} users), exceeded: {wc['exceeded']} |")
base = out / "argon2-baseline.json"
if base.exists():
    b = json.loads(base.read_text())
    print(f"\nArgon2id alone ({b['params']}), one thread on the server's core: "
          f"{b['hashes_per_sec']:.1f} hashes/s ({b['ms_per_hash']:.1f} ms each).")
imports = out / "imports.txt"
if imports.exists():
    print("\n## Imports\n")
    for line in imports.read_text().split("\n"):
        if line.strip():
            prefix, users, secs = line.split()
            print(f"- `{prefix}`: {users} users in {float(secs):.1f} s")
