"""A lean HTTP transport for wechatpy's client: urllib3 directly instead of requests.Session.

requests costs more CPU per call than the whole exchange on loopback (it merges settings, hooks
and cookies on every request); the sender makes a call per delivery, so this is its ceiling.
The object offers the one method wechatpy uses, `request(method, url, params, data, files,
timeout)`, and answers with a requests-like response. Failures are raised as requests'
exceptions so callers tell "never connected" from "answer lost" the same way either way.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import certifi
import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError


class Response:
    """The parts of requests.Response that wechatpy and our client read."""

    def __init__(self, status: int, content: bytes, headers: Any, url: str) -> None:
        self.status_code = status
        self.content = content
        self.headers = headers
        self.url = url
        self.request = None

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8"))

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code} for {self.url.split('?')[0]}", response=self)


class Urllib3Session:
    def __init__(self, pool_size: int = 32, proxies: dict[str, str] | None = None) -> None:
        proxy = (proxies or {}).get("https") or (proxies or {}).get("http")
        options = {"maxsize": pool_size, "block": False, "retries": False, "ca_certs": certifi.where()}
        self._pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)

    def request(self, method: str, url: str, params: dict[str, Any] | None = None, data: Any = None,
                files: dict[str, Any] | None = None, timeout: float | None = None, **_: Any) -> Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        kwargs: dict[str, Any] = {"timeout": urllib3.Timeout(connect=timeout, read=timeout),
                                  "redirect": False, "preload_content": True}
        if files:
            kwargs["fields"] = {name: value for name, value in files.items()}
        elif data is not None:
            kwargs["body"] = data
            kwargs["headers"] = {"Content-Type": "application/json"}
        try:
            res = self._pool.request(method.upper(), url, **kwargs)
        except (ConnectTimeoutError, NewConnectionError) as exc:
            raise requests.ConnectTimeout(exc) if isinstance(exc, ConnectTimeoutError) else _connect_error(exc) from exc
        except MaxRetryError as exc:
            if isinstance(exc.reason, NewConnectionError):
                raise _connect_error(exc.reason) from exc
            if isinstance(exc.reason, ConnectTimeoutError):
                raise requests.ConnectTimeout(exc) from exc
            raise requests.ConnectionError(exc) from exc
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from exc
        except ProtocolError as exc:
            raise requests.ConnectionError(exc) from exc
        return Response(res.status, res.data, res.headers, url)

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)


def _connect_error(reason: Exception) -> requests.ConnectionError:
    # The same shape requests gives: args[0] has `.reason`, the connect failure.
    return requests.ConnectionError(MaxRetryError(None, "", reason))  # type: ignore[arg-type]
