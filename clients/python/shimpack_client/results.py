"""Typed views of the daemon's success responses (protocol section 4).

The daemon's camelCase fields become snake_case attributes; ``raw`` keeps the
response map as received for fields a newer daemon may add. Integers may
arrive as float64 with an integral value (section 1), so integer fields are
normalised with :func:`as_int`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .errors import ProtocolError


def as_int(value: Any, name: str) -> int:
    """Return ``value`` as an int; accepts integral floats (section 1)."""
    if isinstance(value, bool):
        raise ProtocolError(f"field {name!r} is a boolean, expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ProtocolError(f"field {name!r} is {value!r}, expected an integer")


def _get(msg: Mapping[str, Any], name: str) -> Any:
    if name not in msg:
        raise ProtocolError(f"response lacks field {name!r}: {dict(msg)!r}"[:400])
    return msg[name]


def _int(msg: Mapping[str, Any], name: str) -> int:
    return as_int(_get(msg, name), name)


def _float(msg: Mapping[str, Any], name: str) -> float:
    value = _get(msg, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"field {name!r} is {value!r}, expected a number")
    return float(value)


def _str(msg: Mapping[str, Any], name: str) -> str:
    value = _get(msg, name)
    if not isinstance(value, str):
        raise ProtocolError(f"field {name!r} is {value!r}, expected a string")
    return value


@dataclass(frozen=True)
class ServerInfo:
    """The hello response (section 4.1)."""

    version: int
    server: str
    lanes: int
    codecs: List[str]
    max_frame_bytes: int
    block_bytes: int
    burst_bytes: int
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_response(cls, msg: Mapping[str, Any]) -> "ServerInfo":
        codecs = _get(msg, "codecs")
        if not isinstance(codecs, list) or not all(isinstance(c, str) for c in codecs):
            raise ProtocolError(f"field 'codecs' is {codecs!r}, expected a list of strings")
        return cls(version=_int(msg, "version"), server=_str(msg, "server"),
                   lanes=_int(msg, "lanes"), codecs=list(codecs),
                   max_frame_bytes=_int(msg, "maxFrameBytes"),
                   block_bytes=_int(msg, "blockBytes"), burst_bytes=_int(msg, "burstBytes"),
                   raw=dict(msg))

    @property
    def max_read_bytes(self) -> int:
        """The longest read the daemon accepts: ``maxFrameBytes - 64`` (section 4.4)."""
        return self.max_frame_bytes - 64


@dataclass(frozen=True)
class RegionInfo:
    """The region response (section 4.2).

    ``calibration`` is ``"none"``, ``"table"``, ``"histogram"`` or ``"pending"``.
    """

    calibration: str
    block_bytes: int
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_response(cls, msg: Mapping[str, Any]) -> "RegionInfo":
        return cls(calibration=_str(msg, "calibration"), block_bytes=_int(msg, "blockBytes"),
                   raw=dict(msg))


# Counter fields shared by RegionStats and Totals: (wire name, attribute name).
_COUNTERS = (
    ("bytesWritten", "bytes_written"), ("bytesRead", "bytes_read"),
    ("writes", "writes"), ("reads", "reads"), ("blocksHeld", "blocks_held"),
    ("rawBytesStored", "raw_bytes_stored"), ("storedBytes", "stored_bytes"),
    ("blocksRaw", "blocks_raw"), ("burstsRaw", "bursts_raw"), ("burstsStored", "bursts_stored"),
    ("dramReadBursts", "dram_read_bursts"), ("dramWriteBursts", "dram_write_bursts"),
    ("bufferHits", "buffer_hits"), ("bufferMisses", "buffer_misses"), ("fills", "fills"),
    ("writeBacks", "write_backs"), ("evictions", "evictions"), ("metadataAccesses", "metadata_accesses"),
    ("metadataMisses", "metadata_misses"), ("metadataBursts", "metadata_bursts"),
)


@dataclass(frozen=True)
class Counters:
    """Counters of section 4.5, per region or summed in ``totals``."""

    bytes_written: int
    bytes_read: int
    writes: int
    reads: int
    blocks_held: int
    raw_bytes_stored: int
    stored_bytes: int
    blocks_raw: int
    bursts_raw: int
    bursts_stored: int
    dram_read_bursts: int
    dram_write_bursts: int
    buffer_hits: int
    buffer_misses: int
    fills: int
    write_backs: int
    evictions: int
    metadata_accesses: int
    metadata_misses: int
    metadata_bursts: int
    ratio: float

    @property
    def burst_ratio(self) -> float:
        """``burstsRaw / burstsStored`` (1 when no bursts were counted)."""
        return self.bursts_raw / self.bursts_stored if self.bursts_stored else 1.0


def _counters(msg: Mapping[str, Any]) -> Dict[str, Any]:
    values: Dict[str, Any] = {attr: _int(msg, wire) for wire, attr in _COUNTERS}
    values["ratio"] = _float(msg, "ratio")
    return values


@dataclass(frozen=True)
class RegionStats(Counters):
    """One region's declaration and counters (section 4.5)."""

    name: str = ""
    kind: str = ""
    dtype: str = ""
    codec: str = ""
    base: int = 0
    size: int = 0
    block_bytes: int = 0
    calibration: str = ""
    #: The region's stride (given or derived from shape and layout); None when declared without.
    stride: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, msg: Mapping[str, Any]) -> "RegionStats":
        return cls(name=_str(msg, "name"), kind=_str(msg, "kind"), dtype=_str(msg, "dtype"),
                   codec=_str(msg, "codec"), base=_int(msg, "base"), size=_int(msg, "size"),
                   block_bytes=_int(msg, "blockBytes"), calibration=_str(msg, "calibration"),
                   stride=_int(msg, "stride") if msg.get("stride") is not None else None,
                   raw=dict(msg), **_counters(msg))


@dataclass(frozen=True)
class Totals(Counters):
    """Counters summed over the listed regions; ``regions`` is how many."""

    regions: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, msg: Mapping[str, Any]) -> "Totals":
        return cls(regions=_int(msg, "regions"), raw=dict(msg), **_counters(msg))


@dataclass(frozen=True)
class Stats:
    """The stats response: per-region statistics and their totals."""

    regions: List[RegionStats]
    totals: Totals

    @classmethod
    def from_response(cls, msg: Mapping[str, Any]) -> "Stats":
        regions = _get(msg, "regions")
        totals = _get(msg, "totals")
        if not isinstance(regions, list) or not all(isinstance(r, dict) for r in regions):
            raise ProtocolError("field 'regions' is not a list of maps")
        if not isinstance(totals, dict):
            raise ProtocolError("field 'totals' is not a map")
        return cls(regions=[RegionStats.from_response(r) for r in regions],
                   totals=Totals.from_response(totals))

    def region(self, name: str) -> RegionStats:
        """The statistics of the region called ``name`` (KeyError if not listed)."""
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True)
class VectorFailure:
    """An element of a ``writev``/``readv`` that did not apply (protocol section 4.8):
    its index in the request and the code a single write or read of it would get."""

    index: int
    code: str
    message: str

    @staticmethod
    def list_from(msg: Mapping[str, Any]) -> List["VectorFailure"]:
        failed = _get(msg, "failed")
        if not isinstance(failed, list):
            raise ProtocolError(f"vector response field 'failed' is not an array: {failed!r}"[:400])
        out = []
        for f in failed:
            if not isinstance(f, Mapping):
                raise ProtocolError(f"vector failure is not a map: {f!r}"[:400])
            out.append(VectorFailure(as_int(_get(f, "index"), "index"), str(_get(f, "code")), str(f.get("message", ""))))
        return out

