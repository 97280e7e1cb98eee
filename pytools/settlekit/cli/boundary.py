"""The CLI's one error boundary: any exception a command lets out becomes a :class:`SettlekitError` (one message,
one fix), so ``cli/main.py`` can print two lines and exit non-zero instead of a traceback.

settlekit's own errors pass through unchanged. Exceptions of the libraries underneath (requests, web3.py,
SQLAlchemy, the command-line parser) are translated by kind; texts that may hold a URL are redacted first (RPC
URLs often embed API keys). Anything else becomes :class:`UnexpectedError`, whose fix says how to see the
traceback.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from web3.exceptions import Web3Exception, Web3RPCError

from settlekit.chain.rpc import redact_url
from settlekit.exceptions import (
    CommandInterruptedError,
    InsufficientFundsError,
    NodeError,
    NodeRefusedError,
    RpcUrlError,
    SettlekitError,
    UnexpectedError,
    UsageError,
)

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>)]+")


def scrub(text: str) -> str:
    """``text`` with every URL redacted to its scheme and host (and the first line only)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _URL.sub(lambda match: redact_url(match.group(0)), first)


def _request_url(error: requests.RequestException) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    return redact_url(url) if isinstance(url, str) else "the node"


def _from_requests(error: requests.RequestException) -> SettlekitError:
    if isinstance(error, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
        return RpcUrlError("the RPC URL is not an http:// or https:// URL")
    if isinstance(error, requests.exceptions.InvalidURL):
        return RpcUrlError(f"the RPC URL is not a valid URL: {scrub(str(error))}")
    where = _request_url(error)
    if isinstance(error, requests.Timeout):
        from settlekit.chain.connect import rpc_timeout

        return NodeError(
            f"the node at {where} did not answer within {rpc_timeout():g} s",
            hint="the node accepted the connection but sent nothing: check it, or raise SETTLEKIT_RPC_TIMEOUT "
            "(seconds, default 10)",
        )
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else "?"
        return NodeError(
            f"the node at {where} answered HTTP {status}",
            hint="check that the URL is the node's JSON-RPC endpoint and that the node (or its proxy) is up",
        )
    if isinstance(error, requests.ConnectionError):
        return NodeError(f"cannot connect to the node at {where}")
    return NodeError(f"the request to {where} failed: {type(error).__name__}")


def _from_web3(error: Web3Exception) -> SettlekitError:
    from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

    if isinstance(error, ContractLogicError):
        from settlekit.errors import ReasonRevert, revert_from_exception

        decoded = revert_from_exception(error)
        if isinstance(decoded, ReasonRevert):
            message = decoded.text
        else:
            message = decoded.message if decoded is not None else scrub(str(error))
        return NodeRefusedError(
            f"the transaction would revert: {message}",
            hint="check the call's arguments against the reason (docs/errors.md lists every settlekit reason)",
        )
    if isinstance(error, TimeExhausted):
        return NodeError(f"gave up waiting: {scrub(str(error))}", hint="rerun the command; the node is slow")
    if isinstance(error, Web3RPCError):
        text = scrub(_rpc_message(error))
        if "insufficient funds" in text.lower():
            return InsufficientFundsError(f"the signing account cannot pay for the transaction: {text}")
        return NodeRefusedError(f"the node refused the request: {text}")
    text = scrub(str(error))
    if "json" in text.lower() or "response" in text.lower():
        return NodeError(
            f"the node's answer is not JSON-RPC: {text}", hint="check that the URL is the node's JSON-RPC endpoint"
        )
    return NodeRefusedError(f"web3: {text}")


def _rpc_message(error: Web3RPCError) -> str:
    response: Any = getattr(error, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return str(response["error"].get("message", error))
    return str(error)


def _from_sqlalchemy(error: Exception) -> SettlekitError:
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from settlekit.exceptions import StoreError

    detail = scrub(str(getattr(error, "orig", None) or error))
    if isinstance(error, ArgumentError | NoSuchModuleError):
        return StoreError(f"the store URL is not usable: {detail}")
    if isinstance(error, OperationalError):
        return StoreError(f"the store's database is not reachable: {detail}", hint="check that the database is up")
    return StoreError(f"the store failed: {detail}")


def _not_json(error: json.JSONDecodeError) -> NodeError:
    """web3.py's answer parser failing: the URL serves something else (an HTML page, a proxy's error)."""
    start = error.doc.strip()[:40] if isinstance(error.doc, str) else ""
    return NodeError(
        f"the node answered with something that is not JSON-RPC (it starts with {start!r})",
        hint="check that the URL is the node's JSON-RPC endpoint (not a web page or a proxy's error page)",
    )


def translate(error: BaseException) -> SettlekitError:
    """The :class:`SettlekitError` to report for ``error``."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SettlekitError):
        return error
    if isinstance(error, KeyboardInterrupt):
        return CommandInterruptedError("interrupted")
    if isinstance(error, requests.RequestException):
        return _from_requests(error)
    web3_exceptions = sys.modules.get("web3.exceptions")  # not loaded: no web3 error can exist (CLI starts fast)
    if web3_exceptions is not None and isinstance(error, web3_exceptions.Web3Exception):
        return _from_web3(error)
    if isinstance(error, SQLAlchemyError):
        return _from_sqlalchemy(error)
    if isinstance(error, json.JSONDecodeError) and str(error).startswith("Could not decode"):
        return _not_json(error)
    if isinstance(error, PermissionError | FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return UsageError(
            f"{error.strerror or type(error).__name__}: {error.filename}", hint="check the path and its permissions"
        )
    if isinstance(error, OSError) and error.errno is not None:
        return SettlekitError(
            f"{error.strerror or type(error).__name__}" + (f": {error.filename}" if error.filename else ""),
            hint="check the path, the disk and the permissions",
        )
    return UnexpectedError(f"unexpected {type(error).__name__}: {scrub(str(error)) or '(no message)'}")
