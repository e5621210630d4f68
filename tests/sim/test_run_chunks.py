"""simulate(workers=N) sends many short replications to the pool in chunks: the same results as workers=1."""

from __future__ import annotations

import virtmodel as vm
from virtmodel.dists import Exponential


def test_chunked_replications_equal_the_serial_ones():
    storm = vm.BootStorm(8, Exponential(1.0), slots=2)
    # 100 replications on 2 workers: chunks of 6 (len // (8 x workers)), the last one shorter
    serial = vm.simulate(storm, replications=100, seed=12, workers=1)
    chunked = vm.simulate(storm, replications=100, seed=12, workers=2)
    assert chunked.per_replication.equals(serial.per_replication)
    assert chunked.summary.equals(serial.summary)
