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

# Requests per frame. The daemon bounds its work by pausing the socket between
# frames (section 6), which cannot split one frame: a frame of many thousand
# small requests would get past that bound, so batches stay at about the
# daemon's default in-flight bound per connection.
MAX_REQUESTS_PER_FRAME = 1024


def array_header(count: int) -> bytes:
    """The msgpack header of an array of ``count`` elements."""
    if count < 16:
        return bytes((0x90 | count,))
    if count < 1 << 16:
        return b"\xdc" + struct.pack(">H", count)
    return b"\xdd" + struct.pack(">I", count)


def take_frame(outbox: Deque[bytes], limit: Optional[int],
               max_count: int = MAX_REQUESTS_PER_FRAME) -> Union[bytes, List[bytes]]:
    """Remove from ``outbox`` the requests of the next frame, in order.

    Returns one encoded map (sent as it is) or the parts of an array frame
    (header first) of at most ``max_count`` requests whose total stays within
    ``limit`` bytes. Each request is assumed to fit on its own (the client
    checks that when it is issued).
    """
    first = outbox.popleft()
    if not outbox or (limit is not None and len(first) + ARRAY_HEADER_MAX + len(outbox[0]) > limit):
        return first
    items = [first]
    size = ARRAY_HEADER_MAX + len(first)
    while outbox and len(items) < max_count and (limit is None or size + len(outbox[0]) <= limit):
        item = outbox.popleft()
        items.append(item)
        size += len(item)
    return [array_header(len(items))] + items
