"""Run every benchmark and refresh docs/benchmarks.md. Run: make bench"""

from __future__ import annotations

import deploy_throughput
import foundation
import gas_margin
import gas_report
import gas_settlement
import gas_signed
import watch_perf

if __name__ == "__main__":
    foundation.main()
    gas_report.main()
    gas_signed.main()
    gas_settlement.main()
    gas_margin.main()
    deploy_throughput.main()
    watch_perf.main()
