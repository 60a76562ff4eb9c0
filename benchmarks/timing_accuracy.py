"""TTFT and ITL as the client measures them, against a server with injected delays, at
several concurrencies and on both HTTP stacks (issue 18, item 3: TTFT error <= 2 ms at every
concurrency tested).

    .venv/bin/python benchmarks/timing_accuracy.py [--levels 1:0.02,64:0.1,512:0.5]
        [--http httpx,aiohttp] [--per-stream 3] [--api openai|anthropic]

Each level is CONCURRENCY:ITL (seconds; TTFT is 50 ms, 16 chunks per answer), run with
CONCURRENCY x `--per-stream` requests against a fresh `FakeServerProcess` that logs when it
received each request and wrote each chunk (`shootout.testing.timing`, the measurement of
`tests/integration/test_timing.py`). Prints, per stack and level, in milliseconds: the median
of the client's TTFT minus the upload (client start to the server's arrival) minus the
injected TTFT, the median and 99th percentile of the delivery (the client's TTFT minus the
true one: the server's write of the first chunk minus the client's start), and the client's
median ITL minus the injected one. The ITL is longer at higher concurrency so that the
chunks per second stay within what one event loop on a shared core can read (the test's
docstring says why). `--api anthropic`: the Anthropic provider against the fake Messages API,
which logs the same.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from shootout.testing.timing import TTFT, measure


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--levels", default="1:0.02,64:0.1,512:0.5")
    ap.add_argument("--http", default="httpx,aiohttp")
    ap.add_argument("--per-stream", type=int, default=3)
    ap.add_argument("--api", default="openai", choices=("openai", "anthropic"))
    args = ap.parse_args()
    try:
        levels = [(int(c), float(i)) for c, i in (lv.split(":") for lv in args.levels.split(","))]
    except ValueError:
        ap.error(f"--levels: CONCURRENCY:ITL_SECONDS,..., not {args.levels!r}")
    print(f"{args.api}: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; TTFT "
          f"{TTFT * 1000:.0f} ms "
          "injected, 16 chunks per answer; ms")
    print("| stack | concurrency | ITL injected | requests | TTFT - upload - injected | "
          "delivery p50 | delivery p99 | ITL - injected |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for stack in args.http.split(","):
            for concurrency, itl in levels:
                n = concurrency * args.per_stream
                m = measure(Path(tmp), concurrency, n, itl, 0, stack, args.api)
                print(f"| {stack} | {concurrency} | {itl * 1000:.0f} | {m.n} | "
                      f"{(m.client_ttft - m.upload - TTFT) * 1000:+.2f} | "
                      f"{m.delivery * 1000:.2f} | {m.delivery_p99 * 1000:.2f} | "
                      f"{(m.client_itl - itl) * 1000:+.2f} |", flush=True)


if __name__ == "__main__":
    main()
