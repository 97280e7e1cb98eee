"""Local chains: the Anvil process manager, the JSON-RPC client and the registry of CLI-managed chains."""

from settlekit.chain.anvil import Anvil, AnvilConfig, AnvilStartError
from settlekit.chain.registry import ChainRecord, ChainRegistry
from settlekit.chain.rpc import RpcClient, RpcConnectionError, RpcError, redact_url

__all__ = [
    "Anvil",
    "AnvilConfig",
    "AnvilStartError",
    "ChainRecord",
    "ChainRegistry",
    "RpcClient",
    "RpcConnectionError",
    "RpcError",
    "redact_url",
]
