"""web3 connections with a bounded wait: one timeout per request (``SETTLEKIT_RPC_TIMEOUT``, default 10 s) and
no silent retries, so a node that accepts connections and never answers fails in seconds, not minutes (web3's
default of five retries of a 60 s request is ~306 s)."""

from __future__ import annotations

import os

from web3 import Web3

from settlekit.chain.rpc import check_rpc_url
from settlekit.exceptions import UsageError

RPC_TIMEOUT_ENV = "SETTLEKIT_RPC_TIMEOUT"
DEFAULT_RPC_TIMEOUT = 10.0


def rpc_timeout() -> float:
    """Seconds a request may wait for the node's answer: ``$SETTLEKIT_RPC_TIMEOUT`` or the default."""
    text = os.environ.get(RPC_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_RPC_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise UsageError(
            f"{RPC_TIMEOUT_ENV}={text!r} is not a positive number of seconds",
            hint=f"set {RPC_TIMEOUT_ENV}=10, or unset it for the default ({DEFAULT_RPC_TIMEOUT:g} s)",
        )
    return value


def connect(url: str, *, timeout: float | None = None) -> Web3:
    """A Web3 over HTTP(S) to ``url``: the URL's scheme checked, requests bounded by ``timeout`` (default:
    :func:`rpc_timeout`), no retries."""
    provider = Web3.HTTPProvider(
        check_rpc_url(url),
        request_kwargs={"timeout": timeout if timeout is not None else rpc_timeout()},
        exception_retry_configuration=None,
    )
    return Web3(provider)
