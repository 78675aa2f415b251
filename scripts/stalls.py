#!/usr/bin/env python3
"""Lines up a load run's slow requests with the server's checkpoints.

    scripts/stalls.py TIMELINE.csv SERVER.log

TIMELINE.csv is written by `twofold-load run … --timeline FILE`; SERVER.log by a server
started with `serve --log-format json` and `TWOFOLD_LOG=warn,twofold_store=debug`, which
logs every checkpoint with its duration (`took_us`) when it ends. Prints the checkpoints
of the measured phase (the writer's catch-ups, which every write waits out, and the
checkpointer's passes), how many of the slowest 1 % of requests were in flight during
one, and the longest gaps between two answers with what ran across them.
"""
import datetime
import json
import sys


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * p // 100)))
    return sorted_values[int(rank) - 1]


def summary(values):
    v = sorted(values)
    if not v:
        return "none"
    return (f"{len(v)}: p50 {percentile(v, 50)}, p90 {percentile(v, 90)}, "
            f"max {v[-1]}, total {sum(v)}")


def main(timeline, log):
    requests = []
    with open(timeline) as f:
        next(f)
        for line in f:
            _, sent, latency, _ = line.rstrip("\n").split(",")
            requests.append((int(sent), int(latency)))
    if not requests:
        sys.exit("no requests in " + timeline)
    start = min(s for s, _ in requests)
    end = max(s + l for s, l in requests)
    checkpoints = []  # (start_us, end_us, by, busy, frames)
    with open(log) as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") != "SQLite checkpoint":
                continue
            stamp = event["timestamp"].replace("Z", "+00:00")
            done = int(datetime.datetime.fromisoformat(stamp).timestamp() * 1e6)
            began = done - int(event["took_us"])
            if done >= start and began <= end:
                checkpoints.append((began, done, event["by"], int(event["busy"]),
                                    int(event["frames"])))
    writer = [c for c in checkpoints if c[2] == "writer" and c[3] == 0]
    passes = [c for c in checkpoints if c[2] == "checkpointer" and c[3] == 0]
    print(f"measured phase: {(end - start) / 1e6:.2f} s, {len(requests)} requests")
    print("writer catch-ups, µs:", summary([c[1] - c[0] for c in writer]))
    print("  frames in the WAL at each:", summary([c[4] for c in writer]))
    print("checkpointer passes, µs:", summary([c[1] - c[0] for c in passes]))

    def overlap(a, b, spans):
        return sum(max(0, min(b, e) - max(a, s)) for s, e, *_ in spans)

    latencies = sorted(l for _, l in requests)
    p99 = percentile(latencies, 99)
    slow = [(s, l) for s, l in requests if l >= p99]
    hit = [overlap(s, s + l, writer) for s, l in slow]
    print(f"requests at or over p99 ({p99} µs): {len(slow)}; in flight during a "
          f"catch-up: {sum(1 for h in hit if h)}")
    every = sum(1 for s, l in requests if overlap(s, s + l, writer))
    print(f"all requests in flight during a catch-up: {every / len(requests):.1%}")
    answers = sorted(s + l for s, l in requests)
    gaps = sorted(((b - a, a) for a, b in zip(answers, answers[1:])), reverse=True)
    print("longest gaps between two answers:")
    for gap, at in gaps[:10]:
        across = [f"{c[2]} {c[1] - c[0]} µs" for c in checkpoints
                  if c[0] < at + gap and c[1] > at and c[3] == 0]
        print(f"  {gap} µs at {(at - start) / 1000:.1f} ms: {', '.join(across) or '-'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
