"""The blocking client: the asyncio client run on a private event-loop thread.

Every method blocks until its response arrives and returns the result (or
raises the :class:`ShimpackError` subclass for the daemon's code). A
:class:`Client` may be shared by several threads; their requests are
pipelined on the one connection. To pipeline from a single thread, use
:meth:`Client.batch`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from types import TracebackType
from typing import Any, Coroutine, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from .async_client import DEFAULT_URL, AsyncClient
from .errors import ConnectionClosedError
from .payload import Payload
from .requests import (PROTOCOL_VERSION, Request, fence_request, flush_request, free_request, hello_request,
                       raw_request, read_array_request, read_request, region_request,
                       readv_request, stats_request, write_request, writev_request)
from .results import RegionInfo, ServerInfo, Stats, VectorFailure

T = TypeVar("T")


class Client:
    """A blocking connection to a shimpack daemon.

    Example::

        with Client("ws://127.0.0.1:7420/") as c:      # connects and says hello
            c.region("w0", base=0, size=4096, dtype="int8", kind="weight")
            c.write(0, bytes([1, 0, 0, 2]))
            assert c.read(0, 4) == bytes([1, 0, 0, 2])

    Args:
        url, client_name, token, open_timeout, ping_interval, max_response_bytes:
            as for :class:`AsyncClient`.
        timeout: seconds any one call waits for its response before raising
            ``TimeoutError`` (the request itself is not withdrawn), or ``None``.
    """

    def __init__(self, url: str = DEFAULT_URL, *, client_name: Optional[str] = "shimpack-python",
                 token: Optional[str] = None, open_timeout: Optional[float] = 10.0,
                 ping_interval: Optional[float] = None, max_response_bytes: Optional[int] = None,
                 timeout: Optional[float] = None) -> None:
        self.timeout = timeout
        self._async = AsyncClient(url, client_name=client_name, token=token,
                                  open_timeout=open_timeout, ping_interval=ping_interval,
                                  max_response_bytes=max_response_bytes)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None

    # --- connection ---------------------------------------------------------

    def connect(self, *, hello: bool = True) -> Optional[ServerInfo]:
        """Start the loop thread, open the connection and (unless ``hello=False``) say hello."""
        if self._loop is not None:
            raise RuntimeError("already connected")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="shimpack-client", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            return self._run_coroutine(self._async.connect(hello=hello))
        except BaseException:
            self._stop_loop()
            raise

    def __enter__(self) -> "Client":
        if self._loop is None:  # ``with connect(url) as c`` arrives already connected
            self.connect()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` s for requests in flight, close, and stop the loop thread."""
        if self._loop is None:
            return
        try:
            self._run_coroutine(self._async.close(timeout))
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join()
        loop.close()

    @property
    def server(self) -> ServerInfo:
        """The hello response (see :attr:`AsyncClient.server`)."""
        return self._async.server

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return self._async.closed

    @property
    def async_client(self) -> AsyncClient:
        """The underlying :class:`AsyncClient` (use only on its loop thread)."""
        return self._async

    # --- operations ------------------------------------------------------------

    def hello(self, *, version: int = PROTOCOL_VERSION, client: Optional[str] = None,
              token: Optional[str] = None) -> ServerInfo:
        """See :meth:`AsyncClient.hello`."""
        return self._run(hello_request(version, client, token))

    def region(self, name: str, base: int, size: int, dtype: str, kind: str, *,
               codec: Optional[str] = None, block_bytes: Optional[int] = None,
               table: Optional[Payload] = None, histogram: Optional[Sequence[float]] = None,
               stride: Optional[int] = None, shape: Optional[Sequence[int]] = None,
               layout: Optional[str] = None) -> RegionInfo:
        """See :meth:`AsyncClient.region`."""
        return self._run(region_request(name, base, size, dtype, kind, codec=codec,
                                        block_bytes=block_bytes, table=table, histogram=histogram,
                                        stride=stride, shape=shape, layout=layout))

    def write(self, addr: int, data: Payload) -> None:
        """See :meth:`AsyncClient.write`; returns once the write is committed."""
        self._run(write_request(addr, data))

    def read(self, addr: int, length: int) -> bytes:
        """See :meth:`AsyncClient.read`."""
        return self._run(read_request(addr, length))

    def writev(self, addrs: Sequence[int], lens: Sequence[int], data: Payload) -> List[VectorFailure]:
        """See :meth:`AsyncClient.writev`: the elements that did not apply (empty when all did)."""
        return self._run(writev_request(addrs, lens, data))

    def readv(self, addrs: Sequence[int], lens: Sequence[int]) -> Tuple[bytes, List[VectorFailure]]:
        """See :meth:`AsyncClient.readv`: ``(data, failures)``."""
        return self._run(readv_request(addrs, lens))

    def read_array(self, addr: int, dtype: Any, shape: Union[int, Sequence[int]]) -> Any:
        """See :meth:`AsyncClient.read_array` (needs numpy)."""
        return self._run(read_array_request(addr, dtype, shape))

    def stats(self, region: Optional[str] = None) -> Stats:
        """See :meth:`AsyncClient.stats`."""
        return self._run(stats_request(region))

    def fence(self) -> None:
        """See :meth:`AsyncClient.fence`."""
        self._run(fence_request())

    def flush(self, region: Optional[str] = None) -> None:
        """Like fence, then every buffered block (of ``region``, or of the address space) is written back."""
        self._run(flush_request(region))

    def free(self, name: str) -> None:
        """See :meth:`AsyncClient.free`."""
        self._run(free_request(name))

    def request(self, op: str, **fields: Any) -> Dict[str, Any]:
        """See :meth:`AsyncClient.request`."""
        return self._run(raw_request(op, fields))

    def batch(self, raise_errors: bool = True) -> "Batch":
        """Collect requests and send them together, waiting once for all responses.

        Example::

            with client.batch() as b:
                for i, chunk in enumerate(chunks):
                    b.write(base + i * len(chunk), chunk)
                r = b.read(base, 64)
            data = r.result()
        """
        return Batch(self, raise_errors)

    # --- machinery ------------------------------------------------------------

    def submit_many(self, requests: Sequence[Request]) -> List["concurrent.futures.Future[Any]"]:
        """Queue prepared requests in order; returns a future per request (thread-safe)."""
        loop = self._loop
        if loop is None:
            raise ConnectionClosedError("not connected")
        outer: List["concurrent.futures.Future[Any]"] = [concurrent.futures.Future()
                                                           for _ in requests]
        queued = concurrent.futures.Future()  # type: concurrent.futures.Future[None]

        def start() -> None:
            # On the loop thread: queue all requests in one step so they stay adjacent.
            try:
                inner = self._async.submit_many(requests)
            except BaseException as e:
                queued.set_exception(e)
                return
            queued.set_result(None)
            for src, dst in zip(inner, outer):
                src.add_done_callback(lambda f, d=dst: _copy_outcome(f, d))

        loop.call_soon_threadsafe(start)
        queued.result()  # raises local errors (closed, frame too large) in the caller
        return outer

    def _run(self, request: Request) -> Any:
        return self.submit_many([request])[0].result(self.timeout)

    def _run_coroutine(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()


class Batch:
    """Blocking batch: methods return :class:`concurrent.futures.Future` handles.

    Nothing is sent until the ``with`` block ends (or :meth:`send`); then all
    requests are queued back to back (one array frame when they fit) and the
    call waits for every response. The first failure is raised unless
    ``raise_errors=False``; each handle holds its own result or exception.
    """

    def __init__(self, client: Client, raise_errors: bool = True) -> None:
        self._client = client
        self._raise = raise_errors
        self._requests: List[Request] = []
        self._handles: List["concurrent.futures.Future[Any]"] = []
        self._sent = False

    def _add(self, request: Request) -> "concurrent.futures.Future[Any]":
        if self._sent:
            raise RuntimeError("batch already sent")
        handle: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
        self._requests.append(request)
        self._handles.append(handle)
        return handle

    def __len__(self) -> int:
        return len(self._requests)

    def hello(self, *, version: int = PROTOCOL_VERSION, client: Optional[str] = None,
              token: Optional[str] = None) -> "concurrent.futures.Future[ServerInfo]":
        """See :meth:`AsyncClient.hello`."""
        return self._add(hello_request(version, client, token))

    def region(self, name: str, base: int, size: int, dtype: str, kind: str, *,
               codec: Optional[str] = None, block_bytes: Optional[int] = None,
               table: Optional[Payload] = None, histogram: Optional[Sequence[float]] = None,
               stride: Optional[int] = None, shape: Optional[Sequence[int]] = None,
               layout: Optional[str] = None) -> "concurrent.futures.Future[RegionInfo]":
        """See :meth:`AsyncClient.region`."""
        return self._add(region_request(name, base, size, dtype, kind, codec=codec,
                                        block_bytes=block_bytes, table=table, histogram=histogram,
                                        stride=stride, shape=shape, layout=layout))

    def write(self, addr: int, data: Payload) -> "concurrent.futures.Future[None]":
        """See :meth:`AsyncClient.write`."""
        return self._add(write_request(addr, data))

    def read(self, addr: int, length: int) -> "concurrent.futures.Future[bytes]":
        """See :meth:`AsyncClient.read`."""
        return self._add(read_request(addr, length))

    def writev(self, addrs: Sequence[int], lens: Sequence[int], data: Payload
               ) -> "concurrent.futures.Future[List[VectorFailure]]":
        """See :meth:`AsyncClient.writev`."""
        return self._add(writev_request(addrs, lens, data))

    def readv(self, addrs: Sequence[int], lens: Sequence[int]
              ) -> "concurrent.futures.Future[Tuple[bytes, List[VectorFailure]]]":
        """See :meth:`AsyncClient.readv`."""
        return self._add(readv_request(addrs, lens))

    def read_array(self, addr: int, dtype: Any, shape: Union[int, Sequence[int]]
                   ) -> "concurrent.futures.Future[Any]":
        """See :meth:`AsyncClient.read_array`."""
        return self._add(read_array_request(addr, dtype, shape))

    def stats(self, region: Optional[str] = None) -> "concurrent.futures.Future[Stats]":
        """See :meth:`AsyncClient.stats`."""
        return self._add(stats_request(region))

    def fence(self) -> "concurrent.futures.Future[None]":
        """See :meth:`AsyncClient.fence`."""
        return self._add(fence_request())

    def flush(self, region: Optional[str] = None) -> "concurrent.futures.Future[None]":
        """Like fence, then every buffered block (of ``region``, or of the address space) is written back."""
        return self._add(flush_request(region))

    def free(self, name: str) -> "concurrent.futures.Future[None]":
        """See :meth:`AsyncClient.free`."""
        return self._add(free_request(name))

    def request(self, op: str, **fields: Any) -> "concurrent.futures.Future[Dict[str, Any]]":
        """See :meth:`AsyncClient.request`."""
        return self._add(raw_request(op, fields))

    def send(self) -> List[Any]:
        """Send, wait for every response, and return the results in order.

        With ``raise_errors=False`` a failed request's slot holds its exception.
        """
        if self._sent:
            raise RuntimeError("batch already sent")
        self._sent = True
        inner = self._client.submit_many(self._requests)
        for src, dst in zip(inner, self._handles):
            src.add_done_callback(lambda f, d=dst: _copy_outcome(f, d))
        concurrent.futures.wait(self._handles, timeout=self._client.timeout)
        results: List[Any] = []
        for h in self._handles:
            if not h.done():
                raise TimeoutError("batch responses did not all arrive in time")
            err = h.exception()
            if err is not None and self._raise:
                raise err
            results.append(err if err is not None else h.result())
        return results

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if exc_type is None and not self._sent:
            self.send()


def _copy_outcome(src: "Union[asyncio.Future[Any], concurrent.futures.Future[Any]]",
                  dst: "concurrent.futures.Future[Any]") -> None:
    """Copy a finished future's outcome to a concurrent future (any thread may wait on it)."""
    if src.cancelled():
        dst.cancel()
    elif src.exception() is not None:
        dst.set_exception(src.exception())
    else:
        dst.set_result(src.result())


def connect(url: str = DEFAULT_URL, **kwargs: Any) -> Client:
    """Open a blocking :class:`Client` (connected, hello done); close it when finished."""
    client = Client(url, **kwargs)
    client.connect()
    return client
