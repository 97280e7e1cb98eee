"""The one JSON-RPC client settlekit uses for node calls that web3.py does not wrap (anvil_*, evm_*)."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from settlekit.exceptions import NodeError, RpcUrlError, SettlekitError


class RpcError(SettlekitError):
    """The node answered a JSON-RPC call with an error object."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method} failed: {message} (code {code})")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class RpcConnectionError(NodeError):
    """The node could not be reached or did not answer in time."""


class RpcResponseTooLargeError(RpcError):
    """An answer longer than the caller's byte limit, abandoned unread (see :meth:`RpcClient.call_bounded`)."""

    def __init__(self, method: str, limit: int, size: int | None) -> None:
        seen = f"{size:,} bytes" if size is not None else "more"
        super().__init__(method, -32099, f"response size {seen} over the limit of {limit:,} bytes")
        self.limit = limit
        self.size = size  # the announced Content-Length, None when the body was chunked (cut at the limit)


def redact_url(url: str) -> str:
    """A URL safe to print: credentials, path and query dropped (RPC URLs often embed API keys)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    hidden = "/***" if parts.path not in ("", "/") or parts.query else ""
    return urlunsplit((parts.scheme, host, hidden, "", ""))


def check_rpc_url(url: str) -> str:
    """``url`` if it is an ``http://`` or ``https://`` URL with a host, else :class:`RpcUrlError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redact_url(url) if "://" in url else repr(url)
        raise RpcUrlError(f"the RPC URL {shown} is not an http:// or https:// URL")
    return url


class RpcClient:
    """A small synchronous JSON-RPC 2.0 client over HTTP with a persistent connection."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = check_rpc_url(url)
        self.timeout = timeout
        self._session = requests.Session()
        self._ids = itertools.count(1)

    @property
    def url_for_display(self) -> str:
        return redact_url(self.url)

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """Call ``method`` with positional ``params``; return ``result`` or raise :class:`RpcError`."""
        try:
            response = self._session.post(self.url, json=self._payload(method, params), timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            raise self._unreachable(method, exc) from None
        try:
            answer = response.json()
        except ValueError:
            raise self._not_json(method, response.status_code) from None
        return self._result(method, answer)

    def call_bounded(self, method: str, *params: Any, max_bytes: int, timeout: float | None = None) -> Any:
        """Like :meth:`call`, but an answer longer than ``max_bytes`` is abandoned without being read or parsed:
        :class:`RpcResponseTooLargeError` (the connection is dropped, not drained). For calls whose answer size the
        caller cannot know in advance (eth_getLogs over a range): the body of a JSON-RPC answer takes about twice
        its length once parsed into Python objects, so a limit on bytes is a limit on memory."""
        payload = self._payload(method, params)
        try:
            response = self._session.post(self.url, json=payload, timeout=timeout or self.timeout, stream=True)
            try:
                body = self._read_bounded(method, response, max_bytes)
            finally:
                response.close()
        except requests.RequestException as exc:
            raise self._unreachable(method, exc) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise self._not_json(method, response.status_code) from None
        del body  # the text is garbage once parsed: free it before the caller builds anything from the answer
        return self._result(method, answer)

    def batch(self, calls: list[tuple[str, tuple[Any, ...]]], timeout: float | None = None) -> list[Any]:
        """Several calls in one JSON-RPC batch (one HTTP round trip); the results in the calls' order. The first
        call that failed raises its :class:`RpcError`; a node that does not answer batches with a list raises
        :class:`RpcError` (code -32600) so the caller can fall back to single calls."""
        if not calls:
            return []
        payloads = [self._payload(method, params) for method, params in calls]
        try:
            response = self._session.post(self.url, json=payloads, timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            raise self._unreachable(calls[0][0], exc) from None
        try:
            answers = response.json()
        except ValueError:
            raise self._not_json(calls[0][0], response.status_code) from None
        if not isinstance(answers, list):
            self._result(calls[0][0], answers)  # an error for the whole batch is raised as such
            raise RpcError(calls[0][0], -32600, "the node does not answer JSON-RPC batches")
        by_id = {answer.get("id"): answer for answer in answers if isinstance(answer, dict)}
        results = []
        for (method, _), payload in zip(calls, payloads, strict=True):
            answer = by_id.get(payload["id"])
            if answer is None:
                raise RpcError(method, -32603, "the batch answer lacks this call")
            results.append(self._result(method, answer))
        return results

    def _payload(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}

    def _unreachable(self, method: str, exc: Exception) -> RpcConnectionError:
        if isinstance(exc, requests.Timeout):
            return RpcConnectionError(
                f"{method} to {redact_url(self.url)} got no answer within {self.timeout:g} s",
                hint="the node accepted the connection but did not answer: check it, or raise the timeout "
                "(--rpc-timeout, or SETTLEKIT_RPC_TIMEOUT for deploy and verify)",
            )
        return RpcConnectionError(
            f"{method} to {redact_url(self.url)} failed: {type(exc).__name__}",
            hint="check that the node is running and the RPC URL is right",
        )

    def _not_json(self, method: str, status: int) -> RpcConnectionError:
        return RpcConnectionError(
            f"{method} to {redact_url(self.url)} returned HTTP {status} with a non-JSON body",
            hint="check that the URL points at a JSON-RPC endpoint",
        )

    @staticmethod
    def _result(method: str, answer: Any) -> Any:
        """The ``result`` of a JSON-RPC answer, or its ``error`` raised as :class:`RpcError`."""
        if not isinstance(answer, dict):
            return None
        error = answer.get("error")
        if error is not None:
            raise RpcError(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        return answer.get("result")

    @staticmethod
    def _read_bounded(method: str, response: requests.Response, max_bytes: int) -> bytearray:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and int(announced) > max_bytes:
            raise RpcResponseTooLargeError(method, max_bytes, int(announced))
        body = bytearray()  # grown in place: no list of chunks joined into a second copy
        for chunk in response.iter_content(chunk_size=1 << 20):
            body += chunk
            if len(body) > max_bytes:  # chunked (no Content-Length) or a node that announced less than it sent
                raise RpcResponseTooLargeError(method, max_bytes, None)
        return body

    def close(self) -> None:
        self._session.close()
