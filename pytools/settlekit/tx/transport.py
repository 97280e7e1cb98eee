"""Telling a lost answer (the request may have reached the node) from a node's refusal."""

from __future__ import annotations

import requests
from web3.exceptions import ProviderConnectionError


def is_transport_error(error: BaseException) -> bool:
    """The request or its answer was lost on the way (HTTP 5xx, reset, timeout), as opposed to a node's refusal."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, requests.RequestException | ProviderConnectionError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
