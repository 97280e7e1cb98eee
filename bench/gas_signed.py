"""Execution gas of the signed entry points, measured as real transactions on Anvil.

Execution gas = gasUsed - 21,000 (base) - calldata cost (4 per zero byte, 16 per non-zero byte): what the call
itself costs, which is what the issue's target bounds ("a signed unordered-nonce use plus signature check: no more
than about 35,000 gas beyond the 21,000 base").

Run: .venv/bin/python bench/gas_signed.py
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from settlekit import contracts
from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil
from settlekit.project import Project
from settlekit.signing import contract_domain, sign_typed

from gasmeter import measure
from report import ROOT, write_section

TARGET_SIGNED_UNORDERED = 35_000
INTENT = [
    ("signer", "address"),
    ("recipient", "address"),
    ("amount", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
PERMIT = [
    ("owner", "address"),
    ("spender", "address"),
    ("value", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
SIGNER = Account.from_key(bytes.fromhex("a11ce" + "0" * 59))
RECIPIENT = "0x000000000000000000000000000000000000b0b0"
DEADLINE = 2**40


def main() -> None:
    project = Project(ROOT)
    build(project)
    store = ArtifactStore(project.out_dir)
    rows: list[tuple[str, int, int]] = []
    with Anvil(project=project) as node:
        accounts = list(node.w3.eth.accounts)
        harness = contracts.deploy(node.w3, store.get("SafetyHarness"), accounts[1], sender=accounts[0])
        domain = contract_domain(harness)

        def intent(nonce: int) -> Any:
            message = {
                "signer": SIGNER.address,
                "recipient": RECIPIENT,
                "amount": 5,
                "nonce": nonce,
                "deadline": DEADLINE,
            }
            sig = sign_typed(SIGNER, domain, "Intent", INTENT, message)
            return harness.functions.execute_signed(SIGNER.address, RECIPIENT, 5, nonce, DEADLINE, sig.v, sig.r, sig.s)

        def permit(nonce: int) -> Any:
            message = {"owner": SIGNER.address, "spender": RECIPIENT, "value": 5, "nonce": nonce, "deadline": DEADLINE}
            sig = sign_typed(SIGNER, domain, "Permit", PERMIT, message)
            return harness.functions.permit(SIGNER.address, RECIPIENT, 5, DEADLINE, sig.v, sig.r, sig.s)

        relayer, guardian = accounts[3], accounts[1]
        cases = [
            ("execute_signed: unordered nonce in a fresh bitmap word", intent(1000 << 8), relayer),
            ("execute_signed: unordered nonce in a touched bitmap word", intent((1000 << 8) | 1), relayer),
            ("permit: sequential nonce 0 (nonce and allowance slots fresh)", permit(0), relayer),
            ("permit: sequential nonce 1", permit(1), relayer),
            ("use_unordered_nonce (no signature), fresh word", harness.functions.use_unordered_nonce(7 << 8), relayer),
            ("raise_level by the guardian", harness.functions.raise_level(1, b"incident-1".ljust(32, b"\0")), guardian),
        ]
        for label, call, sender in cases:
            used, execution = measure(call, sender)
            rows.append((label, used, execution))
    fresh = rows[0][2]
    lines = ["| call | gasUsed | execution gas (gasUsed - 21,000 - calldata) |", "|---|---|---|"]
    lines += [f"| {label} | {used:,} | {execution:,} |" for label, used, execution in rows]
    verdict = "met" if fresh <= TARGET_SIGNED_UNORDERED else "NOT met"
    body = (
        f"Target (issue 3): a signed unordered-nonce use plus signature check costs at most about "
        f"{TARGET_SIGNED_UNORDERED:,} gas beyond the 21,000 base: **{verdict}**, {fresh:,} in the worst case "
        f"(a fresh bitmap word, whose first write alone costs 22,100).\n\n" + "\n".join(lines)
    )
    write_section(
        "gas-signed",
        "Gas of signed entry points (real transactions on Anvil)",
        ".venv/bin/python bench/gas_signed.py",
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
