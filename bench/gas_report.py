"""Gas of every external function of the project's contracts, from `forge test --gas-report --json`.

Figures are forge's: whole-transaction gas of each call made by the test suites (so they include the 21,000 base
cost and calldata), min / median / max over all calls. Targets from the issues are checked by the scripts that measure
them exactly (e.g. bench/gas_signed.py).

Run: .venv/bin/python bench/gas_report.py
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

from report import ROOT, write_section


def gas_report() -> list[dict[str, Any]]:
    project = Project(ROOT)
    forge = find_tool("forge", project)
    completed = subprocess.run(
        [str(forge.path), "test", "--gas-report", "--json"],
        cwd=ROOT,
        env=tool_environment(project),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        failures = [
            line
            for line in completed.stdout.splitlines() + completed.stderr.splitlines()
            if "Failure" in line or "FAIL" in line or "Error" in line
        ]
        raise SystemExit(f"forge test --gas-report failed (exit {completed.returncode}):\n" + "\n".join(failures[:20]))
    start = completed.stdout.index("[")
    report: list[dict[str, Any]] = json.JSONDecoder().raw_decode(completed.stdout[start:])[0]
    return report


def main() -> None:
    report = gas_report()
    lines = ["| contract | function | calls | min | median | max |", "|---|---|---|---|---|---|"]
    for entry in sorted(report, key=lambda e: e["contract"]):
        source, _, name = entry["contract"].partition(":")
        if not source.startswith("contracts/"):
            continue
        for signature, stats in sorted(entry["functions"].items()):
            lines.append(
                f"| {name} | `{signature}` | {stats['calls']} | {stats['min']:,} | {stats['median']:,} | "
                f"{stats['max']:,} |"
            )
    body = "\n".join(lines)
    write_section("gas", "Gas per function (forge gas report)", ".venv/bin/python bench/gas_report.py", body)
    print(body)


if __name__ == "__main__":
    main()
