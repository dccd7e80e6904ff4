#!/usr/bin/env python3
"""Parse wrk --latency output and summarise the load benchmark (run.sh).

    report.py round WRK_OUTPUT [CPU_SECONDS]   one line for one round
    report.py summary DIR                      every round, medians, ratios

DIR holds the files run.sh writes: `rN-PROXY.wrk` (wrk's output for round N),
`rN-PROXY.cpu` (CPU seconds the proxy used during that round) and, optionally,
`PROXY.rss` (peak RSS in KiB). Latencies are normalised to milliseconds.

Exit status of `summary`: 1 if a round is unusable (no requests, non-2xx
responses, or output wrk did not produce), so a script never reports a
benchmark of error pages.
"""

import os
import re
import statistics
import sys

# wrk prints durations with these units (src/units.c: us, ms, s, m, h).
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
# "masked": maskgate with a masking plan on the product (run.sh --masked).
PROXIES = ("nginx", "maskgate", "masked")


def duration_ms(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * UNIT_MS[match.group(2)]


def parse_wrk(text):
    """The figures of one wrk --latency run, or raise ValueError."""
    figures = {"non2xx": 0, "socket_errors": 0}
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r"Requests/sec:\s+([0-9.]+)", line):
            figures["rps"] = float(m.group(1))
        elif m := re.match(r"(50|99)%\s+(\S+)", line):
            figures["p" + m.group(1)] = duration_ms(m.group(2))
        elif m := re.match(r"(\d+) requests in ([0-9.]+\w+)", line):
            figures["requests"] = int(m.group(1))
        elif m := re.match(r"Non-2xx or 3xx responses:\s+(\d+)", line):
            figures["non2xx"] = int(m.group(1))
        elif line.startswith("Socket errors:"):
            figures["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
    missing = {"rps", "p50", "p99", "requests"} - figures.keys()
    if missing:
        raise ValueError(f"wrk output lacks {', '.join(sorted(missing))}")
    return figures


def read_round(wrk_path, cpu_path=None):
    with open(wrk_path) as f:
        figures = parse_wrk(f.read())
    if cpu_path and os.path.exists(cpu_path):
        with open(cpu_path) as f:
            cpu = float(f.read().strip() or "nan")
        if figures["requests"]:
            figures["cpu_us"] = cpu / figures["requests"] * 1e6
    return figures


def problems(figures):
    found = []
    if figures["requests"] == 0:
        found.append("no requests completed")
    if figures["non2xx"]:
        found.append(f"{figures['non2xx']} non-2xx responses")
    return found


def fmt_ms(ms):
    return f"{ms:.3f}ms" if ms < 10 else f"{ms:.1f}ms"


def fmt_cpu(figures):
    return f"{figures['cpu_us']:.1f}" if "cpu_us" in figures else "-"


def round_line(name, figures):
    errors = figures["non2xx"] + figures["socket_errors"]
    return (
        f"{name:<20} {figures['rps']:>10.0f} {fmt_ms(figures['p50']):>9} "
        f"{fmt_ms(figures['p99']):>9} {fmt_cpu(figures):>11} {errors:>7}"
    )


HEADER = f"{'':<20} {'req/s':>10} {'p50':>9} {'p99':>9} {'cpu us/req':>11} {'errors':>7}"


def cmd_round(args):
    figures = read_round(args[0], args[1] if len(args) > 1 else None)
    line = (
        f"{figures['rps']:.0f} req/s, p50 {fmt_ms(figures['p50'])}, "
        f"p99 {fmt_ms(figures['p99'])}"
    )
    if "cpu_us" in figures:
        line += f", proxy cpu {figures['cpu_us']:.1f} us/req"
    if figures["socket_errors"]:
        line += f", {figures['socket_errors']} socket errors"
    for problem in problems(figures):
        line += f"  !! {problem}"
    print(line)
    return 0


def ratio_line(medians, a, b):
    """`a`'s medians over `b`'s, or why there are none."""
    if a not in medians or b not in medians:
        missing = [p for p in (a, b) if p not in medians]
        return f"ratio {a}/{b}: n/a (no usable rounds for {', '.join(missing)})"
    x, y = medians[a], medians[b]
    line = (
        f"ratio {a}/{b}: throughput {x['rps'] / y['rps']:.2f}x, "
        f"p50 {x['p50'] / y['p50']:.2f}x, p99 {x['p99'] / y['p99']:.2f}x"
    )
    if "cpu_us" in x and "cpu_us" in y and y["cpu_us"] > 0:
        line += f", cpu/req {x['cpu_us'] / y['cpu_us']:.2f}x"
    return line


def cmd_summary(args):
    directory = args[0]
    rounds = {proxy: [] for proxy in PROXIES}
    pattern = re.compile(r"r(\d+)-(\w+)\.wrk")
    entries = sorted(
        (int(m.group(1)), PROXIES.index(m.group(2)), m.group(2))
        for name in os.listdir(directory)
        if (m := pattern.fullmatch(name)) and m.group(2) in rounds
    )
    status = 0
    print("every round:")
    print(HEADER)
    for number, _, proxy in entries:
        base = os.path.join(directory, f"r{number}-{proxy}")
        try:
            figures = read_round(base + ".wrk", base + ".cpu")
        except ValueError as error:
            print(f"round {number} {proxy:<12} unusable: {error}")
            status = 1
            continue
        trouble = problems(figures)
        suffix = "  !! " + "; ".join(trouble) if trouble else ""
        print(round_line(f"round {number} {proxy}", figures) + suffix)
        if trouble:
            status = 1
        else:
            rounds[proxy].append(figures)

    medians = {}
    for proxy, figures in rounds.items():
        if not figures:
            continue
        medians[proxy] = {
            key: statistics.median(f[key] for f in figures)
            for key in ("rps", "p50", "p99", "non2xx", "socket_errors")
        }
        cpu = [f["cpu_us"] for f in figures if "cpu_us" in f]
        if cpu:
            medians[proxy]["cpu_us"] = statistics.median(cpu)

    print()
    print(f"median of {max((len(v) for v in rounds.values()), default=0)} rounds:")
    print(f"{'proxy':<10} {'req/s':>10} {'p50':>9} {'p99':>9} {'cpu us/req':>11} {'peak RSS':>9}")
    for proxy, m in medians.items():
        rss_path = os.path.join(directory, f"{proxy}.rss")
        rss = "-"
        if os.path.exists(rss_path):
            with open(rss_path) as f:
                rss = f"{int(f.read().strip()) / 1024:.1f}MiB"
        print(
            f"{proxy:<10} {m['rps']:>10.0f} {fmt_ms(m['p50']):>9} "
            f"{fmt_ms(m['p99']):>9} {fmt_cpu(m):>11} {rss:>9}"
        )
    ran = {proxy for _, _, proxy in entries}
    for a, b in (("maskgate", "nginx"), ("masked", "maskgate"), ("masked", "nginx")):
        if {a, b} <= ran or (a, b) == ("maskgate", "nginx"):
            print(ratio_line(medians, a, b))
    return status


def main(argv):
    commands = {"round": (cmd_round, 1), "summary": (cmd_summary, 1)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 < commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]][0](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
