"""Python client for the shimpack daemon (protocol version 1, ``protocol/README.md``).

Two APIs over one implementation:

* :class:`AsyncClient` (asyncio): methods return futures, so many requests can
  be in flight on one connection; responses are matched by id.
* :class:`Client` (blocking): the async client on a private loop thread;
  methods return results. :meth:`Client.batch` pipelines from one thread.

Daemon failures raise :class:`ShimpackError` subclasses carrying ``code``
(e.g. ``E_OUT_OF_REGION``) and ``message``. Needs only ``websockets`` and
``msgpack``; numpy arrays are accepted as payloads when numpy is installed.
"""

from .async_client import DEFAULT_URL, AsyncBatch, AsyncClient
from .blocking import Batch, Client, connect
from .channels import ChannelClient, channel_of, merge_stats, split_by_channel
from .errors import (ERROR_CLASSES, AlreadyHelloError, AuthError, BadFieldError, BadTableError,
                     BusyError, LaneFailedError, BackendError, WrongChannelError, ChannelsError,
                     ConnectionClosedError, CrossRegionError, FrameTooLargeError, InternalError,
                     MalformedError, NoHelloError, NoSuchRegionError, OutOfRegionError,
                     ProtocolError, RegionExistsError, RegionOverlapError, ShimpackError,
                     ShuttingDownError, TooLargeError, UnknownOpError, UnsupportedError,
                     VersionError, error_from_response)
from .requests import PROTOCOL_VERSION, Request
from .results import Counters, RegionInfo, RegionStats, ServerInfo, Stats, Totals, VectorFailure

__all__ = [
    "DEFAULT_URL", "PROTOCOL_VERSION", "AsyncClient", "AsyncBatch", "Client", "Batch", "connect",
    "Request", "ServerInfo", "RegionInfo", "RegionStats", "Totals", "Counters", "Stats",
    "ShimpackError", "ERROR_CLASSES", "error_from_response", "MalformedError", "UnknownOpError",
    "BadFieldError", "NoHelloError", "VersionError", "AuthError", "AlreadyHelloError",
    "FrameTooLargeError", "TooLargeError", "OutOfRegionError", "CrossRegionError",
    "RegionOverlapError", "RegionExistsError", "NoSuchRegionError", "UnsupportedError",
    "BadTableError", "BusyError", "LaneFailedError", "BackendError", "ShuttingDownError", "InternalError", "ConnectionClosedError",
    "ProtocolError", "WrongChannelError", "ChannelsError", "ChannelClient", "channel_of",
    "split_by_channel", "merge_stats", "VectorFailure",
]

__version__ = "0.1.0"
