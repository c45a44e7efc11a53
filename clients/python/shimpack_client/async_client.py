"""The asyncio client: one WebSocket connection, many requests in flight.

Every operation method (``write``, ``read``, ...) puts its request on the
connection's send queue *when it is called* and returns an
:class:`asyncio.Future`; ``await`` it for the result. Calling several methods
before awaiting any pipelines them: they take effect in call order (protocol
section 3) and their responses, which may come back in any order and packed
into array frames, are matched by id. Requests queued together go out as one
array frame (a batch) as long as it stays within the daemon's
``maxFrameBytes``.

Methods must be called from the thread running the client's event loop. For
plain blocking code use :class:`shimpack_client.Client`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from types import TracebackType
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple, Type, Union

import msgpack
import websockets
import websockets.exceptions

from .errors import (ConnectionClosedError, FrameTooLargeError, ProtocolError, ShimpackError,
                     error_from_response)
from .framing import take_frame
from .payload import Payload
from .requests import (PROTOCOL_VERSION, Request, fence_request, flush_request, free_request, hello_request,
                       raw_request, read_array_request, read_request, region_request,
                       readv_request, stats_request, write_request, writev_request)
from .results import RegionInfo, ServerInfo, Stats, VectorFailure

log = logging.getLogger("shimpack_client")

DEFAULT_URL = "ws://127.0.0.1:7420/"

# Ids wrap before 2^31 so they stay small msgpack integers in every language.
_ID_LIMIT = 1 << 31

_Pending = Tuple["asyncio.Future[Any]", Request]


class AsyncClient:
    """A connection to a shimpack daemon, used from asyncio.

    Example::

        async with AsyncClient("ws://127.0.0.1:7420/") as c:   # connects and says hello
            await c.region("w0", base=0, size=4096, dtype="int8", kind="weight")
            await c.write(0, bytes([1, 0, 0, 2]))
            assert await c.read(0, 4) == bytes([1, 0, 0, 2])

    Args:
        url: the daemon's WebSocket URL.
        client_name: sent in hello as ``client``.
        token: sent in hello when the daemon was started with ``--token``.
        open_timeout: seconds to wait for the WebSocket handshake.
        ping_interval: seconds between WebSocket keep-alive pings, or ``None``
            (the default: the daemon stops reading a busy connection for
            backpressure, which would make pongs late and the connection drop).
        max_response_bytes: the largest frame accepted from the daemon once
            hello has answered; ``None`` (default) uses the daemon's
            ``maxFrameBytes``, which the protocol says bounds every frame it
            sends. A bigger frame closes the connection (status 1009).
    """

    def __init__(self, url: str = DEFAULT_URL, *, client_name: Optional[str] = "shimpack-python",
                 token: Optional[str] = None, open_timeout: Optional[float] = 10.0,
                 ping_interval: Optional[float] = None,
                 max_response_bytes: Optional[int] = None) -> None:
        self.url = url
        self.max_response_bytes = max_response_bytes
        self.client_name = client_name
        self.token = token
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self._ws: Optional[websockets.WebSocketClientProtocol] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[ServerInfo] = None
        self._ids = itertools.count(1)
        self._pending: Dict[int, _Pending] = {}
        self._outbox: Deque[bytes] = deque()
        self._wake_event = asyncio.Event()  # set when the outbox has frames to send
        self._reader: Optional["asyncio.Task[None]"] = None
        self._writer: Optional["asyncio.Task[None]"] = None
        self._closed: Optional[ConnectionClosedError] = None
        #: Responses (or frames) that matched no request in flight, most recent last:
        #: e.g. ``E_MALFORMED`` answers with ``id: null`` (protocol section 2).
        self.unmatched: Deque[Any] = deque(maxlen=100)
        #: Frames sent and received on this connection (a batch counts once).
        self.frames_sent = 0
        self.frames_received = 0
        #: Size in bytes of the largest frame received so far.
        self.largest_frame_received = 0

    # --- connection ---------------------------------------------------------

    async def connect(self, *, hello: bool = True) -> Optional[ServerInfo]:
        """Open the WebSocket and, unless ``hello=False``, say hello.

        Returns the hello response (also kept as :attr:`server`), or ``None``
        without hello. Raises :class:`ShimpackError` subclasses such as
        ``AuthError`` if hello fails, ``OSError`` if the daemon is unreachable.
        """
        if self._ws is not None:
            raise RuntimeError("already connected")
        self._loop = asyncio.get_running_loop()
        # No size limit until hello tells us maxFrameBytes: websockets starts reading
        # the next message before we see the hello response, with the old limit.
        self._ws = await websockets.connect(
            self.url, max_size=None, compression=None, open_timeout=self.open_timeout,
            ping_interval=self.ping_interval, close_timeout=2)
        self._reader = asyncio.create_task(self._read_loop(), name="shimpack-reader")
        self._writer = asyncio.create_task(self._write_loop(), name="shimpack-writer")
        if not hello:
            return None
        try:
            return await self.hello(client=self.client_name, token=self.token)
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> "AsyncClient":
        if self._ws is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.close()

    @property
    def server(self) -> ServerInfo:
        """The hello response: lanes, codecs, maxFrameBytes, blockBytes, burstBytes."""
        if self._server is None:
            raise RuntimeError("no successful hello yet")
        return self._server

    @property
    def max_frame_bytes(self) -> Optional[int]:
        """The daemon's frame limit, once hello has answered."""
        return self._server.max_frame_bytes if self._server else None

    @property
    def in_flight(self) -> int:
        """Requests issued and not yet answered."""
        return len(self._pending)

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by either side)."""
        return self._closed is not None

    async def close(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` s for requests in flight, then close the connection.

        Requests still unanswered then fail with :class:`ConnectionClosedError`.
        Closing twice is harmless.
        """
        if self._ws is None:
            return
        waiting = [f for f, _ in self._pending.values() if not f.done()]
        if waiting and self._closed is None and timeout > 0:
            await asyncio.wait(waiting, timeout=timeout)
        if self._closed is None:
            self._closed = ConnectionClosedError("the client closed the connection")
        try:
            await self._ws.close()
        finally:
            for task in (self._writer, self._reader):
                if task is not None and not task.done():
                    task.cancel()
            for task in (self._writer, self._reader):
                if task is not None:
                    try:
                        await task
                    except (asyncio.CancelledError, Exception):
                        pass
            self._fail_pending(self._closed)

    # --- operations (section 4) ----------------------------------------------

    def hello(self, *, version: int = PROTOCOL_VERSION, client: Optional[str] = None,
              token: Optional[str] = None) -> "asyncio.Future[ServerInfo]":
        """Send ``hello``; ``connect()`` already does unless ``hello=False``.

        On success the client learns ``maxFrameBytes`` and batches and checks
        frames against it. Errors: ``VersionError``, ``AuthError``,
        ``AlreadyHelloError``.
        """
        return self.submit(hello_request(version, client, token))

    def region(self, name: str, base: int, size: int, dtype: str, kind: str, *,
               codec: Optional[str] = None, block_bytes: Optional[int] = None,
               table: Optional[Payload] = None, histogram: Optional[Sequence[float]] = None,
               stride: Optional[int] = None, shape: Optional[Sequence[int]] = None,
               layout: Optional[str] = None) -> "asyncio.Future[RegionInfo]":
        """Declare a region ``[base, base + size)`` (section 4.2).

        Args:
            name: unique among live regions (1-256 characters).
            base, size: byte address and length.
            dtype: ``uint8``, ``int8``, ``uint4``, ``int4``, ``int16``, ``bfloat16``,
                ``float16``, ``float8_e4m3`` or ``float8_e5m2``.
            kind: ``weight``, ``activation`` or ``other``.
            codec: ``apack``, ``ebpc``, ``zvc``, ``raw`` or ``scc``; default by kind.
            block_bytes: bytes per coded block (even, 64 .. 1 MiB).
            table: the codec's serialised parameters (bytes).
            histogram: 256 (or 16 for 4-bit dtypes) counts, list or numpy array.
            stride: the distance in values to the same channel of the previous
                pixel (1 .. 65535): C for NHWC activations, O for HWIO weights.
                ``scc`` needs it (or ``shape`` and ``layout``); other codecs
                ignore it, ``stats`` reports it.
            shape, layout: the tensor's dimensions and their axis order
                (``NHWC``, ``HWIO``, ``HWCM``, ...): the daemon derives the
                stride from them; with ``stride`` too, they must agree.

        Returns :class:`RegionInfo` (``calibration``, ``block_bytes``).
        Errors: ``BadFieldError``, ``RegionExistsError``, ``RegionOverlapError``,
        ``UnsupportedError``, ``BadTableError``.
        """
        return self.submit(region_request(name, base, size, dtype, kind, codec=codec,
                                          block_bytes=block_bytes, table=table,
                                          histogram=histogram, stride=stride,
                                          shape=shape, layout=layout))

    def write(self, addr: int, data: Payload) -> "asyncio.Future[None]":
        """Write ``data`` (bytes-like or numpy array) at ``addr``; resolves once committed.

        Errors: ``OutOfRegionError``, ``CrossRegionError``, ``FrameTooLargeError``
        (raised at once, before sending, when the request cannot fit in a frame).
        """
        return self.submit(write_request(addr, data))

    def read(self, addr: int, length: int) -> "asyncio.Future[bytes]":
        """Read ``length`` bytes at ``addr`` (never-written bytes read as zero).

        Errors: ``OutOfRegionError``, ``CrossRegionError``, ``TooLargeError``
        (``length > maxFrameBytes - 64``).
        """
        return self.submit(read_request(addr, length))

    def writev(self, addrs: Sequence[int], lens: Sequence[int], data: Payload
               ) -> "asyncio.Future[List[VectorFailure]]":
        """Burst vector write (protocol section 4.8): element i writes ``lens[i]`` bytes of
        ``data`` (packed in element order) at ``addrs[i]``, in order, each as a single write.
        Resolves once every applied element is committed, to the elements that did not apply
        (index, code, message; empty when all did). Whole-request errors raise as for write.
        """
        return self.submit(writev_request(addrs, lens, data))

    def readv(self, addrs: Sequence[int], lens: Sequence[int]
              ) -> "asyncio.Future[Tuple[bytes, List[VectorFailure]]]":
        """Burst vector read (section 4.9): ``(data, failures)``, element i at ``sum(lens[:i])``;
        a failed element's bytes are zero."""
        return self.submit(readv_request(addrs, lens))

    def read_array(self, addr: int, dtype: Any, shape: Union[int, Sequence[int]]
                   ) -> "asyncio.Future[Any]":
        """Read a numpy array of ``dtype`` and ``shape`` at ``addr`` (needs numpy).

        The result is a read-only little-endian array over the received bytes.
        """
        return self.submit(read_array_request(addr, dtype, shape))

    def stats(self, region: Optional[str] = None) -> "asyncio.Future[Stats]":
        """Statistics of every region, or only ``region`` (``NoSuchRegionError`` if unknown)."""
        return self.submit(stats_request(region))

    def fence(self) -> "asyncio.Future[None]":
        """Resolves after every earlier request of this connection has been answered."""
        return self.submit(fence_request())

    def flush(self, region: Optional[str] = None) -> "asyncio.Future[None]":
        """Like fence, then every buffered block (of ``region``, or of the address space) is written back."""
        return self.submit(flush_request(region))

    def free(self, name: str) -> "asyncio.Future[None]":
        """Drop region ``name`` and its data (``NoSuchRegionError`` if unknown)."""
        return self.submit(free_request(name))

    def request(self, op: str, **fields: Any) -> "asyncio.Future[Dict[str, Any]]":
        """Send any request map ``{op, id, **fields}``; resolves to the raw response map.

        Failures still raise the matching :class:`ShimpackError`.
        """
        return self.submit(raw_request(op, fields))

    def batch(self) -> "AsyncBatch":
        """A batch: requests collected, then sent together in one frame when they fit.

        Example::

            async with client.batch() as b:
                b.write(0, w0)
                r = b.read(0, 16)
            print(r.result())
        """
        return AsyncBatch(self)

    # --- machinery ------------------------------------------------------------

    def submit(self, request: Request) -> "asyncio.Future[Any]":
        """Queue one prepared :class:`Request`; returns the future of its decoded result."""
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[Request]) -> List["asyncio.Future[Any]"]:
        """Queue prepared requests back to back, in order (all or none are queued).

        Raises at once (nothing queued) if the connection is closed or one of
        them cannot fit in a frame.
        """
        if self._ws is None or self._loop is None:
            raise ConnectionClosedError("not connected")
        if self._closed is not None:
            raise ConnectionClosedError(self._closed.message, close_code=self._closed.close_code,
                                        close_reason=self._closed.close_reason)
        limit = self.max_frame_bytes
        encoded: List[Tuple[int, bytes, Request]] = []
        for req in requests:
            rid = self._next_id()
            msg: Dict[str, Any] = {"op": req.op, "id": rid}
            msg.update(req.fields)
            frame = msgpack.packb(msg, use_bin_type=True)
            if limit is not None and len(frame) > limit:
                raise FrameTooLargeError(
                    f"a {req.op} request of {len(frame)} bytes cannot fit in a frame of "
                    f"maxFrameBytes={limit} (not sent)", request_id=rid, op=req.op)
            encoded.append((rid, frame, req))
        futures = []
        for rid, frame, req in encoded:
            fut: "asyncio.Future[Any]" = self._loop.create_future()
            self._pending[rid] = (fut, req)
            self._outbox.append(frame)
            futures.append(fut)
        self._wake_event.set()
        return futures

    def _next_id(self) -> int:
        while True:
            rid = next(self._ids)
            if rid >= _ID_LIMIT:
                self._ids = itertools.count(1)
                continue
            if rid not in self._pending:
                return rid

    async def _write_loop(self) -> None:
        assert self._ws is not None
        try:
            while True:
                await self._wake_event.wait()
                self._wake_event.clear()
                while self._outbox:
                    frame = take_frame(self._outbox, self.max_frame_bytes)
                    self.frames_sent += 1
                    # ws.send waits for the socket to drain: the daemon's backpressure
                    # (section 6) reaches us here while the reader keeps reading.
                    await self._ws.send(frame if isinstance(frame, bytes) else b"".join(frame))
        except websockets.exceptions.ConnectionClosed as e:
            self._on_closed(e.code, e.reason)

    async def _read_loop(self) -> None:
        assert self._ws is not None
        ws = self._ws
        try:
            async for message in ws:
                self.frames_received += 1
                if len(message) > self.largest_frame_received:
                    self.largest_frame_received = len(message)
                if isinstance(message, str):
                    self.unmatched.append(message)
                    log.warning("shimpack: ignoring a text frame from the daemon")
                    continue
                try:
                    value = msgpack.unpackb(message, raw=False)
                except Exception as e:  # the daemon sent something that is not msgpack
                    self.unmatched.append(message)
                    log.warning("shimpack: ignoring an undecodable frame: %s", e)
                    continue
                if isinstance(value, dict):
                    self._dispatch(value)
                elif isinstance(value, list):
                    for item in value:
                        self._dispatch(item)
                else:
                    self.unmatched.append(value)
                    log.warning("shimpack: ignoring a frame that is neither map nor array")
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._on_closed(ws.close_code, ws.close_reason or "")

    def _dispatch(self, response: Any) -> None:
        if not isinstance(response, dict):
            self.unmatched.append(response)
            return
        rid = response.get("id")
        if isinstance(rid, float) and rid.is_integer():
            rid = int(rid)
        entry = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if entry is None:
            # e.g. E_MALFORMED with id null: no request of ours can be blamed.
            self.unmatched.append(response)
            log.warning("shimpack: response matches no request in flight: %.200r", response)
            return
        fut, req = entry
        if fut.done():  # cancelled by the caller
            return
        ok = response.get("ok")
        if ok is True:
            try:
                result = req.decode(response)
                if req.op == "hello":
                    self._on_hello(result)
            except ShimpackError as e:
                fut.set_exception(e)
            else:
                fut.set_result(result)
        elif ok is False:
            fut.set_exception(error_from_response(response, req.op))
        else:
            fut.set_exception(ProtocolError(f"response without boolean 'ok': {response!r}"[:300],
                                            request_id=rid, op=req.op))

    def _on_hello(self, info: ServerInfo) -> None:
        self._server = info
        if self._ws is not None:
            # Every later message is bounded by the daemon's limit (section 4.1).
            self._ws.max_size = self.max_response_bytes or info.max_frame_bytes

    def _on_closed(self, code: Optional[int], reason: str) -> None:
        if self._closed is None:
            self._closed = ConnectionClosedError(
                f"connection closed by the daemon (status {code}{', ' + reason if reason else ''})",
                close_code=code, close_reason=reason)
        self._fail_pending(self._closed)
        if self._writer is not None and not self._writer.done() \
                and asyncio.current_task() is not self._writer:
            self._writer.cancel()

    def _fail_pending(self, error: ConnectionClosedError) -> None:
        pending, self._pending = self._pending, {}
        self._outbox.clear()
        for rid, (fut, req) in pending.items():
            if not fut.done():
                fut.set_exception(ConnectionClosedError(
                    error.message, close_code=error.close_code, close_reason=error.close_reason,
                    request_id=rid, op=req.op))


class AsyncBatch:
    """Requests collected and sent back to back (one array frame when they fit).

    Each method returns an :class:`asyncio.Future` that is resolved after the
    batch is sent. Leaving ``async with`` (or awaiting :meth:`send`) sends the
    batch and waits for every response; the first failure is then raised
    unless ``raise_errors=False`` (each future still holds its own outcome).
    """

    def __init__(self, client: AsyncClient, raise_errors: bool = True) -> None:
        self._client = client
        self._raise = raise_errors
        self._requests: List[Request] = []
        self._futures: List["asyncio.Future[Any]"] = []
        self._sent = False

    def _add(self, request: Request) -> "asyncio.Future[Any]":
        if self._sent:
            raise RuntimeError("batch already sent")
        loop = asyncio.get_running_loop()
        self._requests.append(request)
        fut: "asyncio.Future[Any]" = loop.create_future()
        self._futures.append(fut)
        return fut

    def __len__(self) -> int:
        return len(self._requests)

    def hello(self, *, version: int = PROTOCOL_VERSION, client: Optional[str] = None,
              token: Optional[str] = None) -> "asyncio.Future[ServerInfo]":
        """See :meth:`AsyncClient.hello`."""
        return self._add(hello_request(version, client, token))

    def region(self, name: str, base: int, size: int, dtype: str, kind: str, *,
               codec: Optional[str] = None, block_bytes: Optional[int] = None,
               table: Optional[Payload] = None, histogram: Optional[Sequence[float]] = None,
               stride: Optional[int] = None, shape: Optional[Sequence[int]] = None,
               layout: Optional[str] = None) -> "asyncio.Future[RegionInfo]":
        """See :meth:`AsyncClient.region`."""
        return self._add(region_request(name, base, size, dtype, kind, codec=codec,
                                        block_bytes=block_bytes, table=table, histogram=histogram,
                                        stride=stride, shape=shape, layout=layout))

    def write(self, addr: int, data: Payload) -> "asyncio.Future[None]":
        """See :meth:`AsyncClient.write`."""
        return self._add(write_request(addr, data))

    def read(self, addr: int, length: int) -> "asyncio.Future[bytes]":
        """See :meth:`AsyncClient.read`."""
        return self._add(read_request(addr, length))

    def writev(self, addrs: Sequence[int], lens: Sequence[int], data: Payload
               ) -> "asyncio.Future[List[VectorFailure]]":
        """See :meth:`AsyncClient.writev`."""
        return self._add(writev_request(addrs, lens, data))

    def readv(self, addrs: Sequence[int], lens: Sequence[int]
              ) -> "asyncio.Future[Tuple[bytes, List[VectorFailure]]]":
        """See :meth:`AsyncClient.readv`."""
        return self._add(readv_request(addrs, lens))

    def read_array(self, addr: int, dtype: Any, shape: Union[int, Sequence[int]]
                   ) -> "asyncio.Future[Any]":
        """See :meth:`AsyncClient.read_array`."""
        return self._add(read_array_request(addr, dtype, shape))

    def stats(self, region: Optional[str] = None) -> "asyncio.Future[Stats]":
        """See :meth:`AsyncClient.stats`."""
        return self._add(stats_request(region))

    def fence(self) -> "asyncio.Future[None]":
        """See :meth:`AsyncClient.fence`."""
        return self._add(fence_request())

    def flush(self, region: Optional[str] = None) -> "asyncio.Future[None]":
        """Like fence, then every buffered block (of ``region``, or of the address space) is written back."""
        return self._add(flush_request(region))

    def free(self, name: str) -> "asyncio.Future[None]":
        """See :meth:`AsyncClient.free`."""
        return self._add(free_request(name))

    def request(self, op: str, **fields: Any) -> "asyncio.Future[Dict[str, Any]]":
        """See :meth:`AsyncClient.request`."""
        return self._add(raw_request(op, fields))

    async def send(self) -> List[Any]:
        """Send the batch, wait for all responses and return the results in order.

        With ``raise_errors=False`` failed requests appear in the list as
        their exception instead of being raised.
        """
        if self._sent:
            raise RuntimeError("batch already sent")
        self._sent = True
        inner = self._client.submit_many(self._requests)
        for outer, fut in zip(self._futures, inner):
            fut.add_done_callback(lambda f, o=outer: _copy_outcome(f, o))
        results = await asyncio.gather(*self._futures, return_exceptions=True)
        if self._raise:
            for r in results:
                if isinstance(r, BaseException):
                    raise r
        return list(results)

    async def __aenter__(self) -> "AsyncBatch":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if exc_type is None and not self._sent:
            await self.send()


def _copy_outcome(src: "asyncio.Future[Any]", dst: "asyncio.Future[Any]") -> None:
    if dst.done():
        return
    if src.cancelled():
        dst.cancel()
    elif src.exception() is not None:
        dst.set_exception(src.exception())  # type: ignore[arg-type]
    else:
        dst.set_result(src.result())
