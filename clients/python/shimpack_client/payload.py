"""Turning user data into wire payloads, and read data into numpy arrays.

Accepted payloads: ``bytes``, ``bytearray``, ``memoryview`` and, where numpy
is installed, any ``numpy.ndarray`` (its elements in C order; multi-byte
elements are sent little-endian, as the protocol's 16-bit dtypes require).
numpy is optional: it is imported lazily and never required.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence, Tuple, Union

Payload = Union[bytes, bytearray, memoryview, Any]  # Any: numpy.ndarray when available


def _numpy() -> Optional[Any]:
    """The numpy module if the caller could have handed us an array, else None."""
    return sys.modules.get("numpy")  # an ndarray implies numpy is already imported


def as_payload(data: Payload) -> Union[bytes, memoryview]:
    """Return ``data`` as a flat byte buffer msgpack encodes as ``bin``, copying only if needed.

    Raises:
        TypeError: for anything that is not a byte buffer or numpy array.
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        view = memoryview(data)
        if view.c_contiguous and view.format in ("B", "b", "c") and view.ndim <= 1:
            return view.cast("B") if view.format != "B" else view
        return view.tobytes()
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        arr = data
        if arr.dtype.hasobject:
            raise TypeError("numpy arrays of Python objects cannot be sent")
        little = arr.dtype.newbyteorder("<")
        if arr.dtype != little:  # the wire is little-endian (16-bit regions)
            arr = arr.astype(little)
        arr = np.ascontiguousarray(arr)
        return memoryview(arr.reshape(-1).view(np.uint8))
    raise TypeError(f"data must be bytes, bytearray, memoryview or a numpy array, not {type(data).__name__}")


def as_counts(histogram: Any) -> list:
    """Return a histogram (list, tuple or numpy array) as a list of Python numbers."""
    tolist = getattr(histogram, "tolist", None)
    values = tolist() if callable(tolist) else list(histogram)
    return [v if isinstance(v, (int, float)) else float(v) for v in values]


def to_array(data: bytes, dtype: Any, shape: Union[int, Sequence[int], None] = None) -> Any:
    """View read bytes as a read-only numpy array of ``dtype`` (little-endian), reshaped.

    Raises:
        ImportError: numpy is not installed.
        ValueError: the byte count does not fit the dtype or shape.
    """
    import numpy as np  # only this helper needs numpy

    dt = np.dtype(dtype)
    if dt.itemsize > 1:
        dt = dt.newbyteorder("<")
    arr = np.frombuffer(data, dtype=dt)
    if shape is not None:
        arr = arr.reshape(shape)
    return arr


def byte_length(dtype: Any, shape: Union[int, Sequence[int]]) -> Tuple[int, Tuple[int, ...]]:
    """Bytes needed for an array of ``dtype`` and ``shape``, and the shape as a tuple."""
    import numpy as np

    dims: Tuple[int, ...] = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    count = 1
    for d in dims:
        count *= d
    return count * np.dtype(dtype).itemsize, dims
