"""CREATE2 deployments through the standard deterministic-deployment proxy, so a plan lands at the same addresses on
every network (given the same creation code and arguments).

The proxy takes ``salt (32 bytes) || init code`` as calldata and CREATE2s the init code; the address is
``keccak256(0xff || proxy || salt || keccak256(init code))[12:]``. Anvil has it by default; where it is absent on a
local chain it is installed with ``anvil_setCode``; on other chains its absence is an error (it is deployed there by
its well-known pre-signed transaction). A constructor's ``msg.sender`` is the proxy, so contracts that take their
owner from ``msg.sender`` are refused in this mode (see :func:`check_create2_plan`).
"""

from __future__ import annotations

from collections.abc import Callable

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from settlekit.deploy.plan import Deployment, Network, PlanError

PROXY = "0x4e59b44847b379578588920ca78fbf26c0b4956c"
PROXY_RUNTIME = bytes.fromhex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f580151560395781"
    "82fd5b8082525050506014600cf3"
)


def salt_for(deployment: Deployment, step: str) -> bytes:
    """The step's salt: keccak256 of ``"<salt or deployment name>:<step id>"``."""
    return keccak(f"{deployment.salt or deployment.name}:{step}".encode())


def address_of(salt: bytes, init_code: bytes) -> str:
    digest = keccak(b"\xff" + bytes.fromhex(PROXY[2:]) + salt + keccak(init_code))
    return str(to_checksum_address(digest[12:]))


def ensure_proxy(w3: Web3, network: Network, say: Callable[[str], None]) -> None:
    """Make sure the proxy is on the chain: install it on a local chain, refuse elsewhere."""
    proxy = Web3.to_checksum_address(PROXY)
    code = bytes(w3.eth.get_code(proxy))
    if code == PROXY_RUNTIME:
        return
    if code:
        raise PlanError(
            f"the code at the deterministic-deployment proxy address {PROXY} is not the proxy's",
            hint="this chain cannot be used in create2 mode; set create2 = false for this deployment",
        )
    if not network.local:
        raise PlanError(
            f"the deterministic-deployment proxy {PROXY} is not deployed on network {network.name!r}",
            hint="deploy it with its well-known pre-signed transaction first, or set create2 = false",
        )
    w3.provider.make_request("anvil_setCode", [proxy, "0x" + PROXY_RUNTIME.hex()])  # type: ignore[arg-type]
    if bytes(w3.eth.get_code(proxy)) != PROXY_RUNTIME:
        raise PlanError(
            f"could not install the deterministic-deployment proxy at {PROXY} (anvil_setCode had no effect)",
            hint="use an Anvil node for local create2 deployments, or set create2 = false",
        )
    say(f"installed the deterministic-deployment proxy at {PROXY} (anvil_setCode)")


def check_create2_plan(deployment: Deployment) -> None:
    for step in deployment.steps:
        if not step.is_call and "owner" in step.roles:
            raise PlanError(
                f"step {step.id!r} verifies its owner, but in create2 mode the constructor's msg.sender is the "
                "deterministic-deployment proxy, which would own the contract",
                hint="deploy owned contracts without create2 (or give them an owner argument instead of msg.sender)",
            )
