"""Run every benchmark and refresh docs/benchmarks.md. Run: make bench (about 25 minutes on 2 cores, most of it
the mutant benchmark)."""

from __future__ import annotations

import watch_rules

import deploy_throughput
import foundation
import fuzz_forge
import fuzz_loop
import fuzz_speed
import gas_margin
import gas_report
import gas_settlement
import gas_signed
import mutants
import watch_heads
import watch_perf

if __name__ == "__main__":
    foundation.main()
    gas_report.main()
    gas_signed.main()
    gas_settlement.main()
    gas_margin.main()
    deploy_throughput.main()
    watch_perf.main()
    watch_heads.main()
    watch_rules.main()
    fuzz_speed.main()
    fuzz_forge.main()
    fuzz_loop.main([])
    mutants.main(["--budget", "25"])  # the budget of the recorded table
