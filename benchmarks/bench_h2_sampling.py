"""HyperExponential sampling: the two-phase shortcut (u >= p1) against the general binary search.

Both draw the same numbers from the same generator (tests/test_dists.py); this times them side by
side, alternating, in blocks of 4,096 (the engines' block size), and prints medians::

    python benchmarks/bench_h2_sampling.py --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from virtmodel.dists import HyperExponential


def general(dist, rng, size):
    """The binary search every phase count takes (the code before the shortcut)."""
    phase = np.minimum(np.searchsorted(np.cumsum(dist._p), rng.random(size), side="right"), dist._p.size - 1)
    return rng.standard_exponential(size) / dist._mu[phase]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--blocks", type=int, default=2_000)
    args = parser.parse_args()
    dist = HyperExponential.balanced(1.0, 4.0)  # the battery's H2 service
    times = {"shortcut": [], "general": []}
    for _ in range(args.repeats):
        for name, draw in (("shortcut", dist.sample), ("general", lambda r, n: general(dist, r, n))):
            rng = np.random.default_rng(1)
            start = time.perf_counter()
            for _ in range(args.blocks):
                draw(rng, 4096)
            times[name].append(time.perf_counter() - start)
    shortcut, base = statistics.median(times["shortcut"]), statistics.median(times["general"])
    n = args.blocks * 4096
    print(f"H2 scv 4, {n:,} draws in blocks of 4,096, median of {args.repeats}:")
    print(f"  general (binary search): {base:.3f} s ({n / base / 1e6:.1f} M/s)")
    print(f"  two-phase shortcut:      {shortcut:.3f} s ({n / shortcut / 1e6:.1f} M/s), {base / shortcut:.2f}x")


if __name__ == "__main__":
    main()
