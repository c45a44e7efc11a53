"""Exceptions raised by the shimpack client.

Every failure the daemon reports (a response with ``ok: false``) becomes a
:class:`ShimpackError` subclass chosen by its stable ``code`` (protocol
section 5), so callers can ``except RegionExistsError`` or inspect ``.code``.
Failures detected on the client side use codes that start with ``C_`` so they
can never be confused with a daemon code.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class ShimpackError(Exception):
    """Base class: a request failed.

    Attributes:
        code: the stable error code, e.g. ``"E_OUT_OF_REGION"`` (daemon) or
            ``"C_CLOSED"`` (client side).
        message: the human-readable message.
        request_id: the id of the failed request, or ``None``.
        op: the operation of the failed request, when known.
    """

    code: str = "E_UNKNOWN"

    def __init__(self, message: str, *, code: Optional[str] = None,
                 request_id: Optional[int] = None, op: Optional[str] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.request_id = request_id
        self.op = op

    def __str__(self) -> str:
        where = f" ({self.op} #{self.request_id})" if self.op is not None else ""
        return f"{self.code}{where}: {self.message}"


# --- codes the daemon sends (protocol/README.md section 5) -----------------

class MalformedError(ShimpackError):
    """``E_MALFORMED``: the frame or request could not be parsed."""
    code = "E_MALFORMED"


class UnknownOpError(ShimpackError):
    """``E_UNKNOWN_OP``: ``op`` is not an operation of protocol version 1."""
    code = "E_UNKNOWN_OP"


class BadFieldError(ShimpackError):
    """``E_BAD_FIELD``: a field is missing, of the wrong type or out of range."""
    code = "E_BAD_FIELD"


class NoHelloError(ShimpackError):
    """``E_NO_HELLO``: a request other than hello before a successful hello."""
    code = "E_NO_HELLO"


class VersionError(ShimpackError):
    """``E_VERSION``: hello asked for a protocol version other than 1."""
    code = "E_VERSION"


class AuthError(ShimpackError):
    """``E_AUTH``: hello without the daemon's token."""
    code = "E_AUTH"


class AlreadyHelloError(ShimpackError):
    """``E_ALREADY_HELLO``: a second hello on one connection."""
    code = "E_ALREADY_HELLO"


class FrameTooLargeError(ShimpackError):
    """``E_FRAME_TOO_LARGE``: a frame larger than ``maxFrameBytes``.

    The client raises this itself (without sending) for a single request that
    cannot fit in one frame, because the daemon closes the connection for
    frames much larger than the limit.
    """
    code = "E_FRAME_TOO_LARGE"


class TooLargeError(ShimpackError):
    """``E_TOO_LARGE``: a read longer than ``maxFrameBytes - 64``."""
    code = "E_TOO_LARGE"


class OutOfRegionError(ShimpackError):
    """``E_OUT_OF_REGION``: an access not inside any region."""
    code = "E_OUT_OF_REGION"


class CrossRegionError(ShimpackError):
    """``E_CROSS_REGION``: an access spanning two regions."""
    code = "E_CROSS_REGION"


class RegionOverlapError(ShimpackError):
    """``E_REGION_OVERLAP``: the region overlaps a live region."""
    code = "E_REGION_OVERLAP"


class RegionExistsError(ShimpackError):
    """``E_REGION_EXISTS``: the region name is in use."""
    code = "E_REGION_EXISTS"


class NoSuchRegionError(ShimpackError):
    """``E_NO_SUCH_REGION``: stats or free of an unknown region name."""
    code = "E_NO_SUCH_REGION"


class UnsupportedError(ShimpackError):
    """``E_UNSUPPORTED``: codec not available, or it does not support the dtype."""
    code = "E_UNSUPPORTED"


class BadTableError(ShimpackError):
    """``E_BAD_TABLE``: codec table rejected, or histogram malformed."""
    code = "E_BAD_TABLE"


class ShuttingDownError(ShimpackError):
    """``E_SHUTTING_DOWN``: the daemon is stopping; nothing was done."""
    code = "E_SHUTTING_DOWN"


class BusyError(ShimpackError):
    """``E_BUSY``: too many unanswered requests on this connection (``--max-outstanding``)."""
    code = "E_BUSY"


class LaneFailedError(ShimpackError):
    """``E_LANE_FAILED``: a lane worker died under the request; it was replaced. Retry."""
    code = "E_LANE_FAILED"


class BackendError(ShimpackError):
    """``E_BACKEND``: the memory backend failed or timed out. Retry."""
    code = "E_BACKEND"


class WrongChannelError(ShimpackError):
    """``E_WRONG_CHANNEL``: the access belongs to another memory channel; nothing was done."""
    code = "E_WRONG_CHANNEL"


class InternalError(ShimpackError):
    """``E_INTERNAL``: a daemon bug or backend failure."""
    code = "E_INTERNAL"


# --- client-side failures ---------------------------------------------------

class ConnectionClosedError(ShimpackError):
    """``C_CLOSED``: the connection closed before the response arrived.

    Attributes:
        close_code: the WebSocket close status (e.g. 1001 when the daemon shuts
            down, 1007 after an unparseable frame, 1009 for a huge frame), or
            ``None`` if the client closed it or it was never open.
        close_reason: the close reason text, possibly empty.
    """
    code = "C_CLOSED"

    def __init__(self, message: str, *, close_code: Optional[int] = None,
                 close_reason: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.close_code = close_code
        self.close_reason = close_reason


class ProtocolError(ShimpackError):
    """``C_PROTOCOL``: the daemon sent something the specification does not allow."""
    code = "C_PROTOCOL"


class ChannelsError(ShimpackError):
    """``C_CHANNELS``: the URLs given are not the daemons of channels 0 ... N-1, in order."""
    code = "C_CHANNELS"


ERROR_CLASSES: Dict[str, Type[ShimpackError]] = {
    cls.code: cls
    for cls in (MalformedError, UnknownOpError, BadFieldError, NoHelloError, VersionError,
                AuthError, AlreadyHelloError, FrameTooLargeError, TooLargeError,
                OutOfRegionError, CrossRegionError, RegionOverlapError, RegionExistsError,
                NoSuchRegionError, UnsupportedError, BadTableError, ShuttingDownError,
                BusyError, LaneFailedError, BackendError, WrongChannelError, InternalError)
}


def error_from_response(response: Dict[str, object], op: Optional[str] = None) -> ShimpackError:
    """Build the exception for a failure response ``{id, ok: false, code, message}``.

    Unknown codes (from a newer daemon) give a plain :class:`ShimpackError`
    that still carries the code.
    """
    code = response.get("code")
    message = response.get("message")
    code_s = code if isinstance(code, str) else "E_UNKNOWN"
    message_s = message if isinstance(message, str) else "(no message)"
    rid = response.get("id")
    request_id = rid if isinstance(rid, int) else None
    cls = ERROR_CLASSES.get(code_s, ShimpackError)
    return cls(message_s, code=code_s, request_id=request_id, op=op)
