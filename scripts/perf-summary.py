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


def report(name):
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


# The targets of docs/PERFORMANCE.md, each checked against this run: what must not
# regress when the hot path changes.
print("\n## Targets in this run\n")
print("| target | measured | met |")
print("|---|---|---|")
mfa = report("mfa-step-c64")
if mfa:
    c = mfa["classes"]["mfa_step"]
    rate, p99 = c["successes_per_sec"], c["latency"]["p99_us"] / 1000
    met = "yes" if rate >= 10_000 and p99 < 10 else "**no**"
    print(f"| `mfa-step` ≥ 10,000 codes/s, p99 < 10 ms (c64) | {rate:,.0f}/s, p99 {p99:.1f} ms | {met} |")
if base.exists():
    hashes = json.loads(base.read_text())["hashes_per_sec"]
    for conc in (16, 64):
        r = report(f"sign-in-c{conc}")
        if r:
            share = r["classes"]["sign_in"]["successes_per_sec"] / hashes
            met = "yes" if share >= 0.9 else "**no**"
            print(f"| `sign-in` ≥ 90 % of Argon2id alone (c{conc}) | {share:.0%} | {met} |")
wrong = report("wrong-codes-c64")
if wrong and wrong.get("wrong_codes"):
    wc = wrong["wrong_codes"]
    rate = wrong["classes"]["wrong_code"]["requests_per_sec"]
    met = "yes" if not wc["exceeded"] else "**no**"
    print(f"| `wrong-codes`: exactly the lockout budget evaluated | {wc['evaluated_attempts']} of "
          f"{wc['budget']}, {rate:,.0f} refusals/s | {met} |")
for conc in (16, 64):
    storm = report(f"storm-c{conc}")
    if storm and "healthz" in storm["classes"]:
        p99 = storm["classes"]["healthz"]["latency"]["p99_us"] / 1000
        met = "yes" if p99 < 5 else "**no**"
        print(f"| `/healthz` p99 < 5 ms during a storm (c{conc}) | {p99:.2f} ms | {met} |")
peaks = [
    (r.get("server") or {}).get("peak_rss_kib", 0)
    for p in sorted(out.glob("*.json"))
    if p.stem.startswith(("mfa-step-c", "sign-in", "storm", "wrong-codes", "healthz"))
    and not p.stem.endswith("1k-users")
    for r in [json.loads(p.read_text())]
]
if peaks:
    peak = max(peaks) / 1024
    met = "yes" if peak < 100 else "**no**"
    print(f"| server RSS < 100 MiB with 100,000 users | peak {peak:.0f} MiB | {met} |")
