"""Telling a lost answer (the request may have reached the node) from a node's refusal."""

from __future__ import annotations

import time

import requests
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TransactionNotFound


def is_transport_error(error: BaseException) -> bool:
    """The request or its answer was lost on the way (HTTP 5xx, reset, timeout), as opposed to a node's refusal."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, requests.RequestException | ProviderConnectionError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def node_knows(w3: Web3, tx_hash: HexBytes, tries: int = 1) -> bool:
    """eth_getTransactionByHash up to ``tries`` times, 0.2 s apart: does the node have the transaction (whose
    answer may have been lost)? Transport failures count as "not yet"; any other error is raised."""
    for attempt in range(tries):
        try:
            w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            pass
        except Exception as error:
            if not is_transport_error(error):
                raise
        if attempt + 1 < tries:
            time.sleep(0.2)
    return False
