"""Packing already-encoded request maps into frames below ``maxFrameBytes``.

A msgpack array is its header followed by its elements, so a batch frame is
the header plus the requests' bytes concatenated: requests are encoded once,
when they are issued, and never re-encoded to be batched.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Deque, List, Optional, Union

ARRAY_HEADER_MAX = 5  # 0xdd + uint32


def array_header(count: int) -> bytes:
    """The msgpack header of an array of ``count`` elements."""
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + struct.pack(">H", count)
    return b"\xdd" + struct.pack(">I", count)


def take_frame(outbox: Deque[bytes], limit: Optional[int]) -> Union[bytes, List[bytes]]:
    """Remove from ``outbox`` the requests of the next frame, in order.

    Returns one encoded map (sent as it is) or the parts of an array frame
    (header first) whose total stays within ``limit`` bytes. Each request is
    assumed to fit on its own (the client checks that when it is issued).
    """
    first = outbox.popleft()
    if not outbox or (limit is not None and len(first) + ARRAY_HEADER_MAX + len(outbox[0]) > limit):
        return first
    items = [first]
    size = ARRAY_HEADER_MAX + len(first)
    while outbox and (limit is None or size + len(outbox[0]) <= limit):
        item = outbox.popleft()
        items.append(item)
        size += len(item)
    return [array_header(len(items))] + items
