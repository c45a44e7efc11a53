"""Building the request maps of protocol section 4 and decoding their responses.

Each builder returns a :class:`Request`: the op, its fields (without ``id``,
which the connection assigns) and the function turning the success response
into the value the caller gets. The async client, the blocking client and both
batch types share these, so every API sends exactly the same maps.

Only Python-level types are checked here (a ``str`` where bytes belong is a
caller bug); ranges and protocol rules are the daemon's to judge, so its
error codes reach the caller unchanged.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ProtocolError
from .payload import Payload, as_counts, as_payload, byte_length, to_array
from .results import RegionInfo, ServerInfo, Stats, VectorFailure

PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class Request:
    """One request to send: ``{op, id, **fields}`` and how to decode its success response."""

    op: str
    fields: Dict[str, Any]
    decode: Callable[[Mapping[str, Any]], Any]


def _none(_msg: Mapping[str, Any]) -> None:
    return None


def _data(msg: Mapping[str, Any]) -> bytes:
    data = msg.get("data")
    if not isinstance(data, (bytes, bytearray)):
        raise ProtocolError(f"read response has no bin 'data' (got {type(data).__name__})")
    return bytes(data)


def _index(value: Any, name: str) -> int:
    """An integer argument (bool excluded); numpy integers are accepted."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def hello_request(version: int = PROTOCOL_VERSION, client: Optional[str] = None,
                  token: Optional[str] = None) -> Request:
    """``hello`` (section 4.1); decodes to :class:`ServerInfo`."""
    fields: Dict[str, Any] = {"version": version}
    if client is not None:
        fields["client"] = client
    if token is not None:
        fields["token"] = token
    return Request("hello", fields, ServerInfo.from_response)


def region_request(name: str, base: int, size: int, dtype: str, kind: str, *,
                   codec: Optional[str] = None, block_bytes: Optional[int] = None,
                   table: Optional[Payload] = None, histogram: Optional[Sequence[float]] = None,
                   stride: Optional[int] = None, shape: Optional[Sequence[int]] = None,
                   layout: Optional[str] = None) -> Request:
    """``region`` (section 4.2); decodes to :class:`RegionInfo`.

    ``stride`` (or ``shape`` with ``layout``, e.g. ``(1, 56, 56, 64)`` and
    ``"NHWC"``) is the tensor's context stride; codec ``scc`` needs it.
    """
    fields: Dict[str, Any] = {"name": name, "base": _index(base, "base"),
                              "size": _index(size, "size"), "dtype": dtype, "kind": kind}
    if codec is not None:
        fields["codec"] = codec
    if block_bytes is not None:
        fields["blockBytes"] = _index(block_bytes, "block_bytes")
    if table is not None:
        fields["table"] = as_payload(table)
    if histogram is not None:
        fields["histogram"] = as_counts(histogram)
    if stride is not None:
        fields["stride"] = _index(stride, "stride")
    if shape is not None:
        if isinstance(shape, (str, bytes)):
            raise TypeError("shape must be a sequence of integers")
        fields["shape"] = [_index(d, "shape dimension") for d in shape]
    if layout is not None:
        fields["layout"] = layout
    return Request("region", fields, RegionInfo.from_response)


def write_request(addr: int, data: Payload) -> Request:
    """``write`` (section 4.3); decodes to ``None`` (the write is committed)."""
    return Request("write", {"addr": _index(addr, "addr"), "data": as_payload(data)}, _none)


def read_request(addr: int, length: int) -> Request:
    """``read`` (section 4.4); decodes to ``bytes`` of exactly ``length``."""
    n = _index(length, "length")

    def decode(msg: Mapping[str, Any]) -> bytes:
        data = _data(msg)
        if len(data) != n:
            raise ProtocolError(f"read of {n} bytes returned {len(data)}")
        return data

    return Request("read", {"addr": _index(addr, "addr"), "len": n}, decode)


def read_array_request(addr: int, dtype: Any, shape: Union[int, Sequence[int]]) -> Request:
    """``read`` of a whole numpy array of ``dtype`` and ``shape`` (needs numpy)."""
    n, dims = byte_length(dtype, shape)
    inner = read_request(addr, n)
    return Request("read", inner.fields, lambda msg: to_array(inner.decode(msg), dtype, dims))


def _vector(addrs: Sequence[int], lens: Sequence[int]) -> Tuple[List[int], List[int], int]:
    if isinstance(addrs, (str, bytes)) or isinstance(lens, (str, bytes)):
        raise TypeError("addrs and lens must be sequences of integers")
    a = [_index(x, "addrs element") for x in addrs]
    n = [_index(x, "lens element") for x in lens]
    if len(a) != len(n):
        raise ValueError(f"addrs has {len(a)} elements, lens {len(n)}: they must match")
    return a, n, sum(n)


def writev_request(addrs: Sequence[int], lens: Sequence[int], data: Payload) -> Request:
    """``writev`` (section 4.8): element i writes ``lens[i]`` bytes of ``data`` (packed in order) at
    ``addrs[i]``; decodes to the list of :class:`VectorFailure` (empty when every element applied)."""
    a, n, total = _vector(addrs, lens)
    payload = as_payload(data)
    if len(payload) != total:
        raise ValueError(f"data holds {len(payload)} bytes but lens add up to {total}")
    return Request("writev", {"addrs": a, "lens": n, "data": payload}, VectorFailure.list_from)


def readv_request(addrs: Sequence[int], lens: Sequence[int]) -> Request:
    """``readv`` (section 4.9); decodes to ``(bytes, failures)``: element i at ``sum(lens[:i])``,
    a failed element's bytes zero."""
    a, n, total = _vector(addrs, lens)

    def decode(msg: Mapping[str, Any]) -> Tuple[bytes, List[VectorFailure]]:
        data = _data(msg)
        if len(data) != total:
            raise ProtocolError(f"readv of {total} bytes returned {len(data)}")
        return data, VectorFailure.list_from(msg)

    return Request("readv", {"addrs": a, "lens": n}, decode)


def stats_request(region: Optional[str] = None) -> Request:
    """``stats`` (section 4.5), of one region or all; decodes to :class:`Stats`."""
    return Request("stats", {} if region is None else {"region": region}, Stats.from_response)


def fence_request() -> Request:
    """``fence`` (section 4.6); answered after every earlier request of the connection."""
    return Request("fence", {}, _none)


def flush_request(region: Optional[str] = None) -> Request:
    """``flush`` (section 4.6): like fence, then the daemon's line buffers write back every block of the
    address space (or of ``region``); decodes to ``None``."""
    return Request("flush", {} if region is None else {"region": region}, _none)


def free_request(name: str) -> Request:
    """``free`` (section 4.7); decodes to ``None``."""
    return Request("free", {"name": name}, _none)


def raw_request(op: str, fields: Mapping[str, Any]) -> Request:
    """Any request, answered with the raw response map (for new ops and diagnostics)."""
    if "id" in fields:
        raise ValueError("the connection assigns 'id'")
    return Request(op, dict(fields), dict)
