"""Memory channels (protocol/README.md section 8): one client over N daemons.

The routing rule, exactly as the specification states it (the daemon and the
TypeScript client share one implementation of it, protocol/channel.ts):
granule ``k`` = addresses ``[k*G, (k+1)*G)`` belongs to channel ``k mod N``.
An access is cut at granule boundaries and each piece goes to its channel's
daemon; a zero-length access goes to the channel of its address.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .blocking import Client
from .errors import ChannelsError
from .payload import Payload, as_payload
from .results import Counters, RegionInfo, RegionStats, Stats, Totals, VectorFailure

# Every counter of section 4.5 (all fields of Counters but the ratio).
_COUNTER_ATTRS = tuple(f.name for f in fields(Counters) if f.name != "ratio")


def channel_of(addr: int, channels: int, granule: int) -> int:
    """The channel serving byte ``addr``."""
    return 0 if channels == 1 else (addr // granule) % channels


def split_by_channel(addr: int, length: int, channels: int,
                     granule: int) -> List[Tuple[int, int, int, int]]:
    """``[(channel, addr, length, offset), ...]``: the access cut at granule boundaries, in order."""
    if channels == 1 or length == 0:
        return [(channel_of(addr, channels, granule), addr, length, 0)]
    out = []
    at, end = addr, addr + length
    while at < end:
        nxt = min(end, (at // granule + 1) * granule)
        out.append((channel_of(at, channels, granule), at, nxt - at, at - addr))
        at = nxt
    return out


def _ratio(raw: int, stored: int) -> float:
    return raw / stored if stored > 0 else 1.0


def merge_stats(answers: Sequence[Stats]) -> Stats:
    """Counters add up, ratios are recomputed from the sums, a region is pending while any channel is."""
    merged: Dict[str, RegionStats] = {}
    for a in answers:
        for r in a.regions:
            m = merged.get(r.name)
            if m is None:
                merged[r.name] = r
                continue
            sums: Dict[str, Any] = {k: getattr(m, k) + getattr(r, k) for k in _COUNTER_ATTRS}
            calibration = "pending" if "pending" in (m.calibration, r.calibration) else m.calibration
            merged[r.name] = replace(m, calibration=calibration, **sums)
    regions = [replace(r, ratio=_ratio(r.raw_bytes_stored, r.stored_bytes)) for r in merged.values()]
    totals: Dict[str, Any] = {k: sum(getattr(a.totals, k) for a in answers) for k in _COUNTER_ATTRS}
    return Stats(regions=regions, totals=Totals(regions=len(regions), raw={},
                                                ratio=_ratio(totals["raw_bytes_stored"],
                                                             totals["stored_bytes"]), **totals))


class ChannelClient:
    """Blocking client over the daemons of channels 0 ... N-1 (``urls`` in channel order).

    Regions are declared and freed on every channel, reads and writes routed
    by :func:`split_by_channel`, stats merged (:func:`merge_stats`). Each
    channel's connection keeps the protocol's ordering. ``connect`` checks
    that URL k is channel k of ``len(urls)`` (``C_CHANNELS`` otherwise).
    Keyword arguments go to each :class:`Client`.
    """

    def __init__(self, urls: Sequence[str], **kwargs: Any) -> None:
        if not urls:
            raise ChannelsError("no daemon URL given")
        self.urls = list(urls)
        self.clients = [Client(u, **kwargs) for u in self.urls]
        self.channels = len(self.urls)
        self.granule = 1
        self._connected = False

    def connect(self) -> "ChannelClient":
        try:
            for c in self.clients:
                c.connect()
            granule: Optional[int] = None
            for k, c in enumerate(self.clients):
                raw = c.server.raw
                channel, count = int(raw.get("channel", 0)), int(raw.get("channels", 1))
                g = int(raw.get("channelGranule", 0))
                if granule is None:
                    granule = g
                if count != self.channels or channel != k or (count > 1 and g != granule):
                    raise ChannelsError(
                        f"{self.urls[k]} serves channel {channel} of {count} (granule {g} B), but was "
                        f"given as channel {k} of {self.channels}: give one URL per channel, in channel order")
            self.granule = max(granule or 1, 1)
            self._connected = True
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> "ChannelClient":
        return self if self._connected else self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for c in self.clients:
            c.close()

    def region(self, name: str, base: int, size: int, dtype: str, kind: str,
               **kw: Any) -> RegionInfo:
        """Declared on every channel; if one refuses, the others drop it again and the error is raised."""
        done: List[Client] = []
        infos: List[RegionInfo] = []
        try:
            for c in self.clients:
                infos.append(c.region(name, base, size, dtype, kind, **kw))
                done.append(c)
        except BaseException:
            for c in done:
                try:
                    c.free(name)
                except Exception:  # best effort: the refusal is what the caller must see
                    pass
            raise
        return next((i for i in infos if i.calibration == "pending"), infos[0])

    def write(self, addr: int, data: Payload) -> None:
        view = memoryview(as_payload(data)).cast("B")
        for channel, at, length, offset in split_by_channel(addr, len(view), self.channels, self.granule):
            self.clients[channel].write(at, bytes(view[offset:offset + length]))

    def read(self, addr: int, length: int) -> bytes:
        pieces = split_by_channel(addr, length, self.channels, self.granule)
        return b"".join(self.clients[ch].read(at, n) for ch, at, n, _ in pieces)

    def _plan(self, addrs: Sequence[int], lens: Sequence[int]) -> List[List[Tuple[int, int, int, int, int]]]:
        """Per channel, the pieces of a vector: (addr, length, element, offset in element, offset in payload)."""
        if len(addrs) != len(lens):
            raise ValueError(f"addrs has {len(addrs)} elements, lens {len(lens)}: they must match")
        plan: List[List[Tuple[int, int, int, int, int]]] = [[] for _ in self.clients]
        start = 0
        for i, (addr, length) in enumerate(zip(addrs, lens)):
            for ch, at, n, off in split_by_channel(addr, length, self.channels, self.granule):
                plan[ch].append((at, n, i, off, start + off))
            start += length
        return plan

    @staticmethod
    def _merge_failures(plan: List[List[Tuple[int, int, int, int, int]]],
                        answers: List[List[VectorFailure]]) -> List[VectorFailure]:
        """One failure per element (its first failed piece's, by offset), with the caller's index."""
        by_element: Dict[int, Tuple[int, VectorFailure]] = {}
        for ch, failed in enumerate(answers):
            for f in failed:
                _, _, element, within, _ = plan[ch][f.index]
                seen = by_element.get(element)
                if seen is None or within < seen[0]:
                    by_element[element] = (within, VectorFailure(element, f.code, f.message))
        return [by_element[k][1] for k in sorted(by_element)]

    def writev(self, addrs: Sequence[int], lens: Sequence[int], data: Payload) -> List[VectorFailure]:
        """Each element cut at granule boundaries; each channel gets one vector of its pieces.
        An element fails (caller's index) when any of its pieces does; its other pieces may have applied."""
        view = memoryview(as_payload(data)).cast("B")
        plan = self._plan(addrs, lens)
        answers: List[List[VectorFailure]] = []
        for ch, pieces in enumerate(plan):
            if not pieces:
                answers.append([])
                continue
            part = b"".join(bytes(view[p[4]:p[4] + p[1]]) for p in pieces)
            answers.append(self.clients[ch].writev([p[0] for p in pieces], [p[1] for p in pieces], part))
        return self._merge_failures(plan, answers)

    def readv(self, addrs: Sequence[int], lens: Sequence[int]) -> Tuple[bytes, List[VectorFailure]]:
        """Like :meth:`writev`; the pieces' bytes are put back in element order, failed elements zero."""
        plan = self._plan(addrs, lens)
        out = bytearray(sum(lens))
        answers: List[List[VectorFailure]] = []
        for ch, pieces in enumerate(plan):
            if not pieces:
                answers.append([])
                continue
            got, failed = self.clients[ch].readv([p[0] for p in pieces], [p[1] for p in pieces])
            at = 0
            for p in pieces:
                out[p[4]:p[4] + p[1]] = got[at:at + p[1]]
                at += p[1]
            answers.append(failed)
        failed_all = self._merge_failures(plan, answers)
        starts = [0]
        for n in lens:
            starts.append(starts[-1] + n)
        for f in failed_all:
            out[starts[f.index]:starts[f.index + 1]] = bytes(lens[f.index])
        return bytes(out), failed_all

    def stats(self, region: Optional[str] = None) -> Stats:
        return merge_stats([c.stats(region) for c in self.clients])

    def fence(self) -> None:
        for c in self.clients:
            c.fence()

    def flush(self, region: Optional[str] = None) -> None:
        """Every channel writes its buffered blocks back (all, or one region's)."""
        for c in self.clients:
            c.flush(region)

    def free(self, name: str) -> None:
        """Freed on every channel; the first refusal is raised once all were asked."""
        first: Optional[BaseException] = None
        for c in self.clients:
            try:
                c.free(name)
            except Exception as e:  # noqa: BLE001 - re-raised below
                first = first or e
        if first is not None:
            raise first
