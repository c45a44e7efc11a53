"""Tests of shimpack_client against a real daemon started on a free loopback port.

Run from the repository root with Debian's Python (it has python3-msgpack and
python3-websockets; numpy is optional):

    /usr/bin/python3 -m unittest discover -s clients/python/tests -v

The daemon is ``node dist/daemon/cli/main.js serve --port 0`` (built by ``npm run build``); the
port it bound is read from its "listening on ws://..." line on stderr.
Regions are global to a daemon, so every test declares its own names and
addresses (:func:`fresh`).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import List, Optional

PY_ROOT = Path(__file__).resolve().parents[1]          # clients/python
REPO = PY_ROOT.parents[1]                               # the repository
sys.path.insert(0, str(PY_ROOT))

import msgpack  # noqa: E402
import websockets  # noqa: E402

import shimpack_client as sc  # noqa: E402
from shimpack_client import AsyncClient, Client  # noqa: E402
from shimpack_client.framing import array_header, take_frame  # noqa: E402
from shimpack_client.results import as_int  # noqa: E402

try:
    import numpy as np
except ImportError:  # numpy is optional for the client; tests that need it skip
    np = None  # type: ignore[assignment]

MAX_FRAME = 2 * 1024 * 1024  # small limit so "near maxFrameBytes" payloads stay cheap
BLOCK = 4096
BURST = 64


class Daemon:
    """A shimpack daemon process on 127.0.0.1 with an OS-chosen port."""

    def __init__(self, *extra: str) -> None:
        self.args = ["node", "dist/daemon/cli/main.js", "serve", "--host",
                     "127.0.0.1", "--port", "0", "--lanes", "2", "--block-size", str(BLOCK),
                     "--burst-bytes", str(BURST), "--max-frame-bytes", str(MAX_FRAME), *extra]
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""
        self.log: List[str] = []

    def start(self, timeout: float = 30.0) -> "Daemon":
        self.proc = subprocess.Popen(self.args, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def drain() -> None:  # keeps the pipe from filling; lines kept for failure messages
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line.rstrip())
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            m = re.search(r"listening on (ws://\S+)", line)
            if m:
                self.url = m.group(1)
                return self
        self.stop()
        raise RuntimeError("daemon did not report its address:\n" + "\n".join(self.log))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode


DAEMON: Optional[Daemon] = None
URL = ""


def setUpModule() -> None:
    global DAEMON, URL
    DAEMON = Daemon().start()
    URL = DAEMON.url


def tearDownModule() -> None:
    if DAEMON is not None:
        DAEMON.stop()


_region_numbers = itertools.count(1)


def fresh(prefix: str) -> "tuple[str, int]":
    """A region name and a base address (4 GiB apart) no other test uses."""
    n = next(_region_numbers)
    return f"{prefix}-{n}", n << 32


def sparse_bytes(rng: random.Random, n: int, zero_fraction: float = 0.5) -> bytes:
    """Activation-like bytes: about ``zero_fraction`` zeros, small values otherwise."""
    return bytes(0 if rng.random() < zero_fraction else min(255, int(rng.expovariate(0.05)))
                 for _ in range(n))


# --- pieces that need no daemon -------------------------------------------------

class ClientPartsTest(unittest.TestCase):
    def test_integral_floats_are_accepted_as_integers(self) -> None:
        # Section 1: integers above 2^32 may arrive as float64.
        self.assertEqual(as_int(2.0 ** 40, "x"), 1 << 40)
        self.assertEqual(as_int(7, "x"), 7)
        for bad in (1.5, "3", True, None):
            with self.assertRaises(sc.ProtocolError):
                as_int(bad, "x")

    def test_batch_frames_are_valid_msgpack_arrays_within_the_limit(self) -> None:
        for count in (1, 15, 16, 65535, 65536):
            parts = [array_header(count)] + [msgpack.packb(i) for i in range(count)]
            self.assertEqual(msgpack.unpackb(b"".join(parts)), list(range(count)))
        items = [msgpack.packb({"op": "read", "id": i, "addr": 0, "len": 1}) for i in range(100)]
        outbox = __import__("collections").deque(items)
        limit = 10 * len(items[0]) + 5
        frames = []
        while outbox:
            f = take_frame(outbox, limit)
            frame = f if isinstance(f, bytes) else b"".join(f)
            self.assertLessEqual(len(frame), limit)
            frames.append(frame)
        decoded = []
        for frame in frames:
            v = msgpack.unpackb(frame, raw=False)
            decoded.extend(v if isinstance(v, list) else [v])
        self.assertEqual([d["id"] for d in decoded], list(range(100)))  # order kept
        self.assertEqual(len(frames), 10)
        # the request count per frame is bounded too (the daemon pauses between frames)
        outbox = __import__("collections").deque(items)
        counts = []
        while outbox:
            f = take_frame(outbox, None, max_count=30)
            counts.append(1 if isinstance(f, bytes) else len(f) - 1)
        self.assertEqual(counts, [30, 30, 30, 10])

    def test_error_classes_follow_the_code(self) -> None:
        e = sc.error_from_response({"id": 3, "ok": False, "code": "E_CROSS_REGION",
                                    "message": "spans"}, "read")
        self.assertIsInstance(e, sc.CrossRegionError)
        self.assertEqual((e.code, e.message, e.request_id, e.op), ("E_CROSS_REGION", "spans", 3, "read"))
        unknown = sc.error_from_response({"id": 1, "ok": False, "code": "E_NEW", "message": "m"})
        self.assertIs(type(unknown), sc.ShimpackError)
        self.assertEqual(unknown.code, "E_NEW")
        # Every code of section 5 has its own class.
        for code in ("E_MALFORMED", "E_UNKNOWN_OP", "E_BAD_FIELD", "E_NO_HELLO", "E_VERSION",
                     "E_AUTH", "E_ALREADY_HELLO", "E_FRAME_TOO_LARGE", "E_TOO_LARGE",
                     "E_OUT_OF_REGION", "E_CROSS_REGION", "E_REGION_OVERLAP", "E_REGION_EXISTS",
                     "E_NO_SUCH_REGION", "E_UNSUPPORTED", "E_BAD_TABLE", "E_SHUTTING_DOWN",
                     "E_INTERNAL", "E_BUSY"):
            self.assertEqual(sc.ERROR_CLASSES[code].code, code)

    def test_payloads_reject_text_and_non_integers(self) -> None:
        from shimpack_client.requests import read_request, write_request
        with self.assertRaises(TypeError):
            write_request(0, "not bytes")
        with self.assertRaises(TypeError):
            read_request(1.5, 4)
        with self.assertRaises(TypeError):
            read_request(True, 4)
        self.assertEqual(write_request(3, bytearray(b"ab")).fields["addr"], 3)


# --- the asyncio API ------------------------------------------------------------

class AsyncOpsTest(unittest.IsolatedAsyncioTestCase):
    async def test_hello_reports_the_server(self) -> None:
        async with AsyncClient(URL) as c:
            s = c.server
            self.assertEqual((s.version, s.server), (1, "shimpack"))
            self.assertEqual(s.lanes, 2)
            self.assertLessEqual(set(s.codecs), {"apack", "ebpc", "zvc", "raw", "scc", "fpack"})
            self.assertIn("raw", s.codecs)
            self.assertEqual((s.max_frame_bytes, s.block_bytes, s.burst_bytes), (MAX_FRAME, BLOCK, BURST))
            self.assertEqual(s.max_read_bytes, MAX_FRAME - 64)

    async def test_hello_errors(self) -> None:
        c = AsyncClient(URL)
        await c.connect(hello=False)
        try:
            with self.assertRaises(sc.NoHelloError) as cm:
                await c.fence()
            self.assertEqual(cm.exception.code, "E_NO_HELLO")
            self.assertTrue(cm.exception.message)
            with self.assertRaises(sc.VersionError):
                await c.hello(version=2)
            info = await c.hello(client="unit-test")
            self.assertEqual(info.version, 1)
            self.assertIs(c.server, info)
            with self.assertRaises(sc.AlreadyHelloError):
                await c.hello()
            await c.fence()  # the connection survives every failure
        finally:
            await c.close()

    async def test_region_defaults_and_calibration(self) -> None:
        async with AsyncClient(URL) as c:
            w, wb = fresh("w")
            a, ab = fresh("a")
            o, ob = fresh("o")
            h, hb = fresh("h")
            r = await c.region(w, wb, 8192, "int8", "weight")
            self.assertEqual((r.calibration, r.block_bytes), ("pending", BLOCK))
            self.assertEqual((await c.region(a, ab, 8192, "uint8", "activation", block_bytes=1024)),
                             sc.RegionInfo("none", 1024, {}))
            self.assertEqual((await c.region(o, ob, 100, "int16", "other")).calibration, "none")
            hist = [1 + (i < 16) * 100 for i in range(256)]
            self.assertEqual((await c.region(h, hb, 4096, "uint8", "weight", codec="apack",
                                             histogram=hist)).calibration, "histogram")
            stats = await c.stats()
            by_name = {s.name: s for s in stats.regions}
            self.assertEqual((by_name[w].codec, by_name[a].codec, by_name[o].codec),
                             ("apack", "ebpc", "zvc"))
            self.assertEqual((by_name[w].kind, by_name[w].dtype, by_name[w].base, by_name[w].size),
                             ("weight", "int8", wb, 8192))
            self.assertEqual(by_name[a].block_bytes, 1024)
            self.assertEqual(by_name[w].calibration, "pending")
            await c.write(wb, bytes(i % 7 for i in range(8192)))
            self.assertEqual((await c.stats(w)).regions[0].calibration, "first-write")
            for name in (w, a, o, h):
                await c.free(name)

    async def test_region_errors(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("re")
            await c.region(name, base, 4096, "int8", "other")
            cases = [
                (sc.RegionExistsError, dict(name=name, base=base + 8192, size=10)),
                (sc.RegionOverlapError, dict(name=name + "x", base=base + 4095, size=10)),
                (sc.BadFieldError, dict(name=name + "y", base=base + 8192, size=0)),
                (sc.BadFieldError, dict(name="", base=base + 8192, size=10)),
                (sc.BadFieldError, dict(name=name + "z", base=base + 8192, size=10, block_bytes=63)),
                (sc.BadFieldError, dict(name=name + "d", base=base + 8192, size=10, dtype="float32")),
                (sc.UnsupportedError, dict(name=name + "u", base=base + 8192, size=10,
                                           dtype="int16", codec="apack")),
                (sc.BadTableError, dict(name=name + "t", base=base + 8192, size=10, codec="apack",
                                        table=b"\x00not a table")),
                (sc.BadTableError, dict(name=name + "g", base=base + 8192, size=10, codec="apack",
                                        histogram=[0] * 256)),
                (sc.BadTableError, dict(name=name + "n", base=base + 8192, size=10, codec="apack",
                                        histogram=[1] * 255 + [-1])),
            ]
            for cls, kw in cases:
                kw.setdefault("dtype", "int8")
                with self.subTest(kw=kw):
                    with self.assertRaises(cls) as cm:
                        await c.region(kind="other", **kw)
                    self.assertEqual(cm.exception.code, cls.code)
                    self.assertEqual(cm.exception.op, "region")
            await c.free(name)

    async def test_roundtrip_every_codec_and_dtype(self) -> None:
        rng = random.Random(4)
        supported = []
        async with AsyncClient(URL) as c:
            for codec in c.server.codecs:
                for dtype in ("uint8", "int8", "uint4", "int4", "int16"):
                    name, base = fresh(f"{codec}-{dtype}")
                    size = 3 * BLOCK + 100  # a partial last block
                    try:
                        # every codec accepts a stride; scc needs one
                        await c.region(name, base, size, dtype, "other", codec=codec, stride=16)
                    except sc.UnsupportedError:
                        continue
                    supported.append((codec, dtype))
                    model = bytearray(size)
                    # whole region, then unaligned overwrites across block edges
                    writes = [(0, sparse_bytes(rng, size))]
                    writes += [(off, sparse_bytes(rng, n)) for off, n in
                               ((BLOCK - 7, 20), (5, 1), (2 * BLOCK + 1, BLOCK), (size - 3, 3), (40, 0))]
                    futs = []
                    for off, data in writes:
                        futs.append(c.write(base + off, data))
                        model[off:off + len(data)] = data
                    back = c.read(base, size)  # issued before the writes are answered (section 3.1)
                    await asyncio.gather(*futs)
                    self.assertEqual(await back, bytes(model), (codec, dtype))
                    self.assertEqual(await c.read(base + BLOCK - 7, 20), bytes(model[BLOCK - 7:BLOCK + 13]))
                    await c.free(name)
        for codec in ("apack", "ebpc", "zvc", "raw"):
            self.assertIn((codec, "int8"), supported)
            self.assertIn((codec, "uint8"), supported)

    async def test_region_stride_shape_and_layout(self) -> None:
        async with AsyncClient(URL) as c:
            a, ab = fresh("stride")
            b, bb = fresh("shape")
            n, nb = fresh("nostride")
            await c.region(a, ab, 4096, "int8", "weight", codec="zvc", stride=40)
            await c.region(b, bb, 4096, "uint8", "activation", codec="zvc",
                           shape=(1, 8, 8, 24), layout="NHWC")
            await c.region(n, nb, 4096, "uint8", "other", codec="zvc")
            by_name = {r.name: r for r in (await c.stats()).regions}
            self.assertEqual((by_name[a].stride, by_name[b].stride, by_name[n].stride), (40, 24, None))
            x, xb = fresh("badstride")
            for kw in (dict(stride=0), dict(stride=65536), dict(shape=[8, 8, 24], layout="NHWC"),
                       dict(shape=[1, 8, 8, 24], layout="NWHC"), dict(shape=[1, 8, 8, 24]),
                       dict(shape=[1, 8, 8, 24], layout="NHWC", stride=8)):
                with self.subTest(kw=kw):
                    with self.assertRaises(sc.BadFieldError):
                        await c.region(x, xb, 4096, "uint8", "activation", codec="zvc", **kw)
            with self.assertRaises(TypeError):
                await c.region(x, xb, 4096, "uint8", "activation", shape="1,8,8,24", layout="NHWC")
            if "scc" in c.server.codecs:
                with self.assertRaises(sc.BadFieldError) as cm:
                    await c.region(x, xb, 4096, "uint8", "activation", codec="scc")
                self.assertIn("stride", cm.exception.message)
                s, sb = fresh("scc")
                size = 3 * BLOCK + 100
                r = await c.region(s, sb, size, "uint8", "activation", codec="scc",
                                   shape=(1, 5, 4, 103), layout="NHWC")
                self.assertEqual(r.calibration, "pending")
                # channel-structured data: each channel its own slowly varying level
                data = bytes(((i % 103) * 2 + (i // 103) % 3) & 0xFF for i in range(size))
                await asyncio.gather(c.write(sb, data[:5000]), c.write(sb + 5000, data[5000:]))
                self.assertEqual(await c.read(sb, size), data)
                st = (await c.stats(s)).regions[0]
                self.assertEqual((st.codec, st.stride, st.calibration), ("scc", 103, "first-write"))
                self.assertLess(st.stored_bytes, st.raw_bytes_stored)
                await c.free(s)
            for name in (a, b, n):
                await c.free(name)

    async def test_unwritten_bytes_read_as_zero(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("zero")
            await c.region(name, base, 3 * BLOCK, "uint8", "activation")
            await c.write(base + BLOCK + 10, b"\x05\x06")
            data = await c.read(base, 3 * BLOCK)
            self.assertEqual(data, bytes(BLOCK + 10) + b"\x05\x06" + bytes(2 * BLOCK - 12))
            await c.free(name)

    async def test_access_errors(self) -> None:
        async with AsyncClient(URL) as c:
            n1, base = fresh("acc")
            n2 = n1 + "-next"
            await c.region(n1, base, BLOCK, "int8", "other")
            await c.region(n2, base + BLOCK, BLOCK, "int8", "other")
            n3, base3 = fresh("acc-end")
            await c.region(n3, base3, 100, "int8", "other")
            with self.assertRaises(sc.OutOfRegionError):
                await c.write(base - 1, b"x")
            with self.assertRaises(sc.OutOfRegionError):
                await c.read(base3 + 90, 20)        # runs past the end into unmapped space
            with self.assertRaises(sc.CrossRegionError):
                await c.write(base + BLOCK - 2, b"abcd")
            with self.assertRaises(sc.CrossRegionError):
                await c.read(base + BLOCK - 2, 4)
            with self.assertRaises(sc.TooLargeError):
                await c.read(base, c.server.max_read_bytes + 1)
            with self.assertRaises(sc.OutOfRegionError):
                await c.write(base3 + 200, b"")     # zero-length outside every region
            self.assertIsNone(await c.write(base3 + 50, b""))  # zero-length inside: fine
            self.assertEqual(await c.read(base3, 0), b"")
            for name in (n1, n2, n3):
                await c.free(name)

    async def test_writev_and_readv_mean_their_elements(self) -> None:
        async with AsyncClient(URL) as c:
            n1, base = fresh("vec")
            n2 = n1 + "-next"
            await c.region(n1, base, BLOCK, "int8", "other", codec="raw")
            await c.region(n2, base + BLOCK, BLOCK, "int8", "weight", codec="apack")
            rng = random.Random(1414)
            addrs = [base + 64, base + BLOCK + 128, base + 10 * BLOCK, base + BLOCK - 2, base + 64, base + 300]
            lens = [64, 64, 8, 4, 32, 0]
            data = bytes(rng.randrange(256) for _ in range(sum(lens)))
            failed = await c.writev(addrs, lens, data)
            self.assertEqual([(f.index, f.code) for f in failed], [(2, "E_OUT_OF_REGION"), (3, "E_CROSS_REGION")])
            self.assertIsInstance(failed[0], sc.VectorFailure)
            self.assertTrue(failed[0].message)
            # Later elements win: [64, 96) holds element 4, [96, 128) element 0's second half.
            self.assertEqual(await c.read(base + 64, 64), data[140:172] + data[32:64])
            got, rfailed = await c.readv([base + BLOCK + 128, base + 10 * BLOCK, base + 64], [64, 8, 64])
            self.assertEqual([(f.index, f.code) for f in rfailed], [(1, "E_OUT_OF_REGION")])
            self.assertEqual(got, data[64:128] + bytes(8) + data[140:172] + data[32:64])
            # Pipelined with singles: applied in the order sent.
            w = c.write(base + 1000, b"abcd")
            v = c.readv([base + 1000], [4])
            v2 = c.writev([base + 1000], [4], b"wxyz")
            r = c.read(base + 1000, 4)
            await w
            self.assertEqual((await v)[0], b"abcd")
            self.assertEqual(await v2, [])
            self.assertEqual(await r, b"wxyz")
            # Whole-request refusals raise as for write and read.
            with self.assertRaises(sc.BadFieldError):
                await c.request("readv", addrs=[base], lens=[1, 2])
            with self.assertRaises(sc.TooLargeError):
                await c.readv([base, base + 1], [c.server.max_read_bytes, 1])
            with self.assertRaises(ValueError):
                c.writev([base], [4], b"abc")
            async with c.batch() as b:
                fw = b.writev([base + 2000], [2], b"hi")
                fr = b.readv([base + 2000], [2])
            self.assertEqual(fw.result(), [])
            self.assertEqual(fr.result(), (b"hi", []))
            s = await c.stats(n1)
            # Every applied element counts as one access (protocol 4.10).
            self.assertEqual(s.regions[0].writes, 6)
            for name in (n1, n2):
                await c.free(name)

    async def test_stats_counters(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("st")
            await c.region(name, base, 4 * BLOCK, "uint8", "other", codec="raw")
            s = (await c.stats(name)).regions[0]
            self.assertEqual((s.blocks_held, s.stored_bytes, s.ratio, s.writes), (0, 0, 1.0, 0))
            await c.write(base, bytes(range(256)) * 16)          # one whole block
            await c.write(base + BLOCK + 100, b"\x01" * 10)      # partial block
            await c.read(base + 60, 10)                          # two bursts, one block
            st = await c.stats(name)
            self.assertEqual(len(st.regions), 1)
            s = st.regions[0]
            self.assertEqual((s.bytes_written, s.bytes_read, s.writes, s.reads),
                             (BLOCK + 10, 10, 2, 1))
            self.assertEqual((s.blocks_held, s.raw_bytes_stored), (2, 2 * BLOCK))
            self.assertEqual(s.stored_bytes, 2 * BLOCK)          # raw codec: payload = raw
            self.assertEqual(s.ratio, s.raw_bytes_stored / s.stored_bytes)
            # aligned bursts covering each access: 64 + 1 (bytes 100..109 of a block) + 2
            self.assertEqual(s.bursts_raw, BLOCK // BURST + 1 + 2)
            # a raw region moves the bursts the client moves, one for one
            self.assertEqual(s.bursts_stored, s.bursts_raw)
            self.assertEqual(s.bursts_stored, s.dram_read_bursts + s.dram_write_bursts)
            self.assertEqual(s.dram_read_bursts, 2)
            self.assertEqual(s.raw["name"], name)
            # totals over every region
            other, obase = fresh("st2")
            await c.region(other, obase, BLOCK, "uint8", "activation")
            await c.write(obase, bytes(BLOCK))
            everything = await c.stats()
            t = everything.totals
            self.assertEqual(t.regions, len(everything.regions))
            self.assertEqual(t.bytes_written, sum(r.bytes_written for r in everything.regions))
            self.assertEqual(t.stored_bytes, sum(r.stored_bytes for r in everything.regions))
            self.assertAlmostEqual(t.ratio, t.raw_bytes_stored / t.stored_bytes)
            zeros = everything.region(other)
            self.assertGreater(zeros.ratio, 10)      # a zero block codes small
            with self.assertRaises(sc.NoSuchRegionError):
                await c.stats("no-such-region-here")
            await c.free(name)
            await c.free(other)

    async def test_fence_is_answered_after_earlier_requests(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("fence")
            await c.region(name, base, 64 * BLOCK, "int8", "weight", codec="zvc")
            done: List[str] = []
            futs = []
            for i in range(200):
                f = c.write(base + i * 300, bytes([i % 128]) * 300)
                f.add_done_callback(lambda _f: done.append("w"))
                futs.append(f)
            fence = c.fence()
            fence.add_done_callback(lambda _f: done.append("fence"))
            await fence
            self.assertEqual(done, ["w"] * 200 + ["fence"])
            await asyncio.gather(*futs)
            await c.free(name)

    async def test_flush_writes_buffered_blocks_back(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("flush")
            await c.region(name, base, 4 * BLOCK, "int8", "activation", codec="zvc")
            await c.write(base + 100, bytes(range(64)))  # part of a block: waits in a line buffer
            await c.flush(name)
            st = (await c.stats(name)).regions[0]
            self.assertEqual(st.blocks_held, 1)
            self.assertEqual(st.write_backs, 1)
            self.assertEqual(st.buffer_misses, 1)
            self.assertEqual(st.bursts_stored, st.dram_read_bursts + st.dram_write_bursts)
            await c.flush()  # the whole address space
            with self.assertRaises(sc.NoSuchRegionError):
                await c.flush("no-such-region-here")
            await c.free(name)

    async def test_free(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("free")
            await c.region(name, base, BLOCK, "int8", "other")
            await c.write(base, b"\x07" * 100)
            await c.free(name)
            with self.assertRaises(sc.OutOfRegionError):
                await c.read(base, 4)
            with self.assertRaises(sc.NoSuchRegionError):
                await c.free(name)
            await c.region(name + "-again", base, BLOCK, "int8", "other")
            self.assertEqual(await c.read(base, 100), bytes(100))   # the old data is gone
            await c.free(name + "-again")

    async def test_hundreds_of_requests_in_flight(self) -> None:
        rng = random.Random(9)
        async with AsyncClient(URL) as c:
            regions = []
            for codec in ("apack", "ebpc", "zvc"):
                name, base = fresh("pipe-" + codec)
                await c.region(name, base, 256 * 512, "uint8", "activation", codec=codec)
                regions.append((name, base))
            frames_before = c.frames_sent
            expected = []
            writes, reads = [], []
            for i in range(300):                       # 600 requests before awaiting any
                _, base = regions[i % 3]
                addr = base + (i // 3) * 512 + rng.randrange(0, 256)
                data = sparse_bytes(rng, rng.randrange(1, 256))
                writes.append(c.write(addr, data))
                reads.append(c.read(addr, len(data)))
                expected.append(data)
            self.assertEqual(c.in_flight, 600)
            await asyncio.gather(*writes)
            self.assertEqual(await asyncio.gather(*reads), expected)
            # requests queued together were packed into batch frames
            self.assertLess(c.frames_sent - frames_before, 600)
            self.assertEqual(c.in_flight, 0)
            for name, _ in regions:
                await c.free(name)

    async def test_thousands_of_small_requests_in_flight(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("many")
            await c.region(name, base, 8192, "uint8", "other", codec="raw")
            await c.write(base, bytes(i % 251 for i in range(8192)))
            frames = c.frames_sent
            reads = [c.read(base + i % 8192, 1) for i in range(5000)]
            got = await asyncio.gather(*reads)
            self.assertEqual(got, [bytes([(i % 8192) % 251]) for i in range(5000)])
            self.assertGreaterEqual(c.frames_sent - frames, 5000 // 1024)
            await c.free(name)

    async def test_pipelined_failures_land_on_their_own_requests(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("mix")
            await c.region(name, base, BLOCK, "int8", "other")
            futs = []
            for i in range(100):
                if i % 4 == 1:
                    futs.append(c.read(base + BLOCK - 1, 2))           # out of region
                elif i % 4 == 3:
                    futs.append(c.stats(f"missing-{i}"))
                else:
                    futs.append(c.write(base + i, bytes([i])))
            results = await asyncio.gather(*futs, return_exceptions=True)
            for i, r in enumerate(results):
                if i % 4 == 1:
                    self.assertIsInstance(r, sc.OutOfRegionError)
                elif i % 4 == 3:
                    self.assertIsInstance(r, sc.NoSuchRegionError)
                    self.assertIn(f"missing-{i}", r.message)
                else:
                    self.assertIsNone(r)
            data = await c.read(base, 100)
            self.assertEqual([data[i] for i in range(0, 100, 2)], list(range(0, 100, 2)))
            await c.free(name)

    async def test_batch(self) -> None:
        async with AsyncClient(URL) as c:
            name, base = fresh("batch")
            frames = c.frames_sent
            async with c.batch() as b:
                reg = b.region(name, base, BLOCK, "int8", "weight", codec="ebpc")
                b.write(base, b"\x01\x02\x03")
                r = b.read(base, 3)
                f = b.fence()
            self.assertEqual(c.frames_sent - frames, 1)       # one array frame
            self.assertEqual(reg.result().calibration, "none")
            self.assertEqual(r.result(), b"\x01\x02\x03")
            self.assertIsNone(f.result())
            b2 = c.batch()
            ok = b2.read(base, 1)
            bad = b2.read(base - 10, 1)
            with self.assertRaises(sc.OutOfRegionError):
                await b2.send()
            self.assertEqual(ok.result(), b"\x01")
            self.assertIsInstance(bad.exception(), sc.OutOfRegionError)
            b3 = sc.AsyncBatch(c, raise_errors=False)
            b3.free(name)
            b3.free(name)
            res = await b3.send()
            self.assertIsNone(res[0])
            self.assertIsInstance(res[1], sc.NoSuchRegionError)

    async def test_raw_requests_and_request_errors(self) -> None:
        async with AsyncClient(URL) as c:
            with self.assertRaises(sc.UnknownOpError):
                await c.request("defragment")
            with self.assertRaises(sc.BadFieldError) as cm:
                await c.request("write", addr=0)          # no data
            self.assertIn("data", cm.exception.message)
            with self.assertRaises(sc.BadFieldError):
                await c.request("read", addr=-1, len=4)
            resp = await c.request("fence")
            self.assertIs(resp["ok"], True)
            self.assertIsInstance(resp["id"], int)

    async def _big_region(self, c: AsyncClient) -> "tuple[str, int, bytes]":
        """A region of 3 x maxFrameBytes holding, at its base, the longest write that fits."""
        limit = c.server.max_frame_bytes
        name, base = fresh("big")
        await c.region(name, base, 3 * limit, "uint8", "activation", block_bytes=65536)
        # the longest write that fits in maxFrameBytes whatever its id (< 2^31: 5 bytes)
        probe = len(msgpack.packb({"op": "write", "id": 1 << 20, "addr": base,
                                   "data": bytes(limit - 100)}, use_bin_type=True))
        n = limit - 100 + (limit - probe)
        rng = random.Random(2)
        big = bytes(rng.getrandbits(8) & 0x3F for _ in range(n))
        await c.write(base, big)
        return name, base, big

    async def test_large_payloads_near_max_frame_bytes(self) -> None:
        async with AsyncClient(URL) as c:   # receives at most maxFrameBytes per frame
            limit = c.server.max_frame_bytes
            name, base, big = await self._big_region(c)
            with self.assertRaises(sc.FrameTooLargeError):
                c.write(base, big + bytes(5))             # one byte over even with id 1: not sent
            m = c.server.max_read_bytes
            for _ in range(2):                              # the longest read, one at a time
                self.assertEqual(await c.read(base, m), big[:m])
            self.assertGreater(c.largest_frame_received, limit - 100)
            self.assertLessEqual(c.largest_frame_received, limit)
            with self.assertRaises(sc.TooLargeError):
                await c.read(base, m + 1)
            # writes that fit only one or two to a frame are split into several frames
            frames = c.frames_sent
            halves = [c.write(base + limit + i * (limit // 2), big[:limit // 2]) for i in range(4)]
            await asyncio.gather(*halves)
            self.assertGreaterEqual(c.frames_sent - frames, 3)
            self.assertEqual(await c.read(base + limit + 3 * (limit // 2), 1000), big[:1000])
            await c.free(name)

    async def test_longest_reads_pipelined(self) -> None:
        # Reads of the longest allowed length in flight together, with the default
        # receive limit (maxFrameBytes): the daemon splits its answers into frames
        # that fit, and the data must match.
        async with AsyncClient(URL) as c:
            name, base, big = await self._big_region(c)
            m = c.server.max_read_bytes
            reads = [c.read(base, m) for _ in range(3)]
            small = [c.read(base + i, 1) for i in range(20)]
            got = await asyncio.gather(*reads)
            self.assertTrue(all(g == big[:m] for g in got))
            self.assertEqual(await asyncio.gather(*small), [big[i:i + 1] for i in range(20)])
            await c.free(name)

    async def test_response_frames_stay_within_max_frame_bytes(self) -> None:
        # Spec check for the daemon (sections 4.1, 6): answers of reads in flight
        # together are split into frames of at most maxFrameBytes.
        largest = 0
        for _ in range(5):
            async with AsyncClient(URL, max_response_bytes=16 * MAX_FRAME) as c:
                name, base, big = await self._big_region(c)
                reads = [c.read(base, c.server.max_read_bytes) for _ in range(3)]
                await asyncio.gather(*reads)
                await c.free(name)
                largest = max(largest, c.largest_frame_received)
        self.assertLessEqual(largest, MAX_FRAME, f"a response frame of {largest} bytes exceeds "
                             f"maxFrameBytes={MAX_FRAME} (protocol/README.md sections 4.1, 6)")

    async def test_unmatched_and_connection_closing_responses(self) -> None:
        c = AsyncClient(URL)
        await c.connect()
        ws = c._ws  # a frame the client itself never sends
        assert ws is not None
        with self.assertLogs("shimpack_client", "WARNING"):
            await ws.send("text frame")
            await c.fence()
        self.assertTrue(any(isinstance(u, dict) and u.get("id") is None
                            and u.get("code") == "E_MALFORMED" for u in c.unmatched))
        # An unparseable frame: the daemon answers id null and closes with 1007;
        # requests in flight then fail with ConnectionClosedError.
        with self.assertLogs("shimpack_client", "WARNING"), \
                self.assertRaises(sc.ConnectionClosedError) as cm:
            await ws.send(b"\x92\x01")
            for _ in range(200):
                await c.fence()
                await asyncio.sleep(0.01)
        self.assertEqual(cm.exception.close_code, 1007)
        self.assertTrue(c.closed)
        with self.assertRaises(sc.ConnectionClosedError):
            c.fence()
        await c.close()


class DaemonSpecTest(unittest.IsolatedAsyncioTestCase):
    """Protocol facts a client depends on, checked with a bare WebSocket."""

    async def test_frame_too_large_and_text_frames(self) -> None:
        async with websockets.connect(URL, max_size=None, compression=None) as ws:
            await ws.send(msgpack.packb({"op": "hello", "id": 1, "version": 1}))
            self.assertTrue(msgpack.unpackb(await ws.recv(), raw=False)["ok"])
            frame = msgpack.packb([{"op": "fence", "id": 2},
                                   {"op": "write", "id": 3, "addr": 0, "data": bytes(MAX_FRAME)}],
                                  use_bin_type=True)
            await ws.send(frame)
            got = []
            while len(got) < 2:
                v = msgpack.unpackb(await ws.recv(), raw=False)
                got.extend(v if isinstance(v, list) else [v])
            self.assertEqual(sorted((r["id"], r["code"]) for r in got),
                             [(2, "E_FRAME_TOO_LARGE"), (3, "E_FRAME_TOO_LARGE")])
            await ws.send("hello?")
            v = msgpack.unpackb(await ws.recv(), raw=False)
            v = v[0] if isinstance(v, list) else v
            self.assertEqual((v["id"], v["ok"], v["code"]), (None, False, "E_MALFORMED"))


# --- the blocking API -------------------------------------------------------------

class BlockingTest(unittest.TestCase):
    def test_every_op(self) -> None:
        with Client(URL, timeout=30) as c:
            self.assertEqual(c.server.server, "shimpack")
            name, base = fresh("blk")
            info = c.region(name, base, 2 * BLOCK, "int8", "weight", codec="apack")
            self.assertEqual(info.calibration, "pending")
            data = bytes((i * 7) % 16 for i in range(2 * BLOCK))
            self.assertIsNone(c.write(base, data))
            self.assertEqual(c.read(base, 2 * BLOCK), data)
            self.assertIsNone(c.fence())
            s = c.stats(name)
            self.assertEqual(s.regions[0].calibration, "first-write")
            self.assertGreater(s.regions[0].ratio, 1.0)
            with self.assertRaises(sc.RegionExistsError):
                c.region(name, base + 10 * BLOCK, 10, "int8", "other")
            with self.assertRaises(sc.OutOfRegionError) as cm:
                c.write(base - 1, b"ab")
            self.assertEqual(cm.exception.code, "E_OUT_OF_REGION")
            self.assertEqual(c.request("fence")["ok"], True)
            c.free(name)
            with self.assertRaises(sc.NoSuchRegionError):
                c.free(name)
        self.assertTrue(c.closed)
        with self.assertRaises(sc.ConnectionClosedError):
            c.fence()

    def test_vectors_blocking(self) -> None:
        with Client(URL, timeout=30) as c:
            name, base = fresh("blkv")
            c.region(name, base, 2 * BLOCK, "int8", "other", codec="zvc")
            self.assertEqual(c.writev([base, base + BLOCK], [3, 3], b"abcdef"), [])
            self.assertEqual(c.readv([base + BLOCK, base], [3, 3]), (b"def" + b"abc", []))
            with c.batch() as b:
                f = b.readv([base, base + 5 * BLOCK], [2, 2])
            data, failed = f.result()
            self.assertEqual(data, b"ab\0\0")
            self.assertEqual([x.code for x in failed], ["E_OUT_OF_REGION"])
            c.free(name)

    def test_hello_and_module_connect(self) -> None:
        c = Client(URL)
        self.assertIsNone(c.connect(hello=False))
        try:
            with self.assertRaises(sc.NoHelloError):
                c.stats()
            self.assertEqual(c.hello(client="blocking").version, 1)
            with self.assertRaises(sc.AlreadyHelloError):
                c.hello()
        finally:
            c.close()
        with sc.connect(URL) as c2:            # already connected: with only closes it
            self.assertEqual(c2.server.lanes, 2)
            self.assertIsNone(c2.fence())
        self.assertTrue(c2.closed)

    def test_batch_pipelines_from_one_thread(self) -> None:
        with Client(URL) as c:
            name, base = fresh("bb")
            c.region(name, base, 64 * 1024, "uint8", "activation", codec="zvc")
            rng = random.Random(3)
            chunks = [sparse_bytes(rng, 512) for _ in range(128)]
            with c.batch() as b:
                for i, chunk in enumerate(chunks):
                    b.write(base + i * 512, chunk)
                handles = [b.read(base + i * 512, 512) for i in range(128)]
                self.assertEqual(len(b), 256)
            self.assertEqual([h.result() for h in handles], chunks)
            with self.assertRaises(sc.OutOfRegionError):
                with c.batch() as b:
                    b.read(base, 1)
                    b.read(base + 64 * 1024, 1)
            results = c.batch(raise_errors=False)
            results.free(name)
            results.free(name)
            out = results.send()
            self.assertIsNone(out[0])
            self.assertIsInstance(out[1], sc.NoSuchRegionError)

    def test_threads_share_one_client(self) -> None:
        with Client(URL, timeout=30) as c:
            name, base = fresh("thr")
            c.region(name, base, 4 * 64 * 256, "uint8", "other")
            errors: List[BaseException] = []

            def worker(t: int) -> None:
                try:
                    rng = random.Random(t)
                    for i in range(50):
                        addr = base + t * 64 * 256 + i * 256
                        data = sparse_bytes(rng, 256)
                        c.write(addr, data)
                        if c.read(addr, 256) != data:
                            raise AssertionError(f"thread {t} op {i}: read-back differs")
                except BaseException as e:  # reported by the main thread
                    errors.append(e)

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(c.stats(name).regions[0].writes, 200)
            c.free(name)

    def test_unreachable_daemon(self) -> None:
        c = Client("ws://127.0.0.1:9/", open_timeout=5)
        with self.assertRaises(OSError):
            c.connect()


# --- numpy payloads ----------------------------------------------------------------

@unittest.skipUnless(np is not None, "numpy is not installed")
class NumpyTest(unittest.TestCase):
    def test_arrays_in_and_out(self) -> None:
        assert np is not None
        rng = np.random.default_rng(0)
        with Client(URL) as c:
            name, base = fresh("np")
            c.region(name, base, 4 * BLOCK, "int8", "weight",
                     histogram=np.bincount(rng.integers(0, 256, 5000), minlength=256))
            w = rng.integers(-8, 8, size=(16, 3, 3, 3), dtype=np.int8)
            c.write(base, w)
            back = c.read_array(base, np.int8, w.shape)
            self.assertEqual(back.dtype, np.int8)
            self.assertTrue(np.array_equal(back, w))
            strided = np.arange(200, dtype=np.uint8)[::2]          # not contiguous
            c.write(base + BLOCK, strided)
            self.assertEqual(c.read(base + BLOCK, 100), strided.tobytes())
            c.write(np.int64(base + 2 * BLOCK), memoryview(bytearray(b"\x09" * 8)))
            self.assertEqual(c.read(np.uint64(base + 2 * BLOCK), 8), b"\x09" * 8)
            c.free(name)

    def test_int16_goes_little_endian(self) -> None:
        assert np is not None
        with Client(URL) as c:
            name, base = fresh("np16")
            c.region(name, base, 2000, "int16", "activation", codec="zvc")
            values = np.array([0, 1, -2, 300, -32768, 32767] * 100, dtype=">i2")  # big-endian input
            c.write(base, values)
            raw = c.read(base, values.nbytes)
            self.assertEqual(raw[:4], b"\x00\x00\x01\x00")          # little-endian on the wire
            back = c.read_array(base, np.int16, values.shape)
            self.assertTrue(np.array_equal(back, values.astype(np.int16)))
            c.free(name)

    def test_float16_through_fpack(self) -> None:
        assert np is not None
        with Client(URL) as c:
            name, base = fresh("npf16")
            info = c.region(name, base, 8192, "float16", "activation", codec="fpack", stride=16)
            self.assertEqual(info.calibration, "pending")                   # fitted to the first 8 KiB written
            rng = np.random.default_rng(7)
            values = np.maximum(rng.normal(0, 1, 4096), 0).astype(">f2")   # big-endian input
            values[:4] = [np.inf, -0.0, np.nan, 6.0e-8]                    # inf, -0, NaN, a subnormal
            c.write(base, values)
            raw = c.read(base, values.nbytes)
            self.assertEqual(raw, values.astype("<f2").tobytes())           # bit-exact, little-endian
            back = c.read_array(base, np.float16, values.shape)
            self.assertTrue(np.array_equal(back.view(np.uint16), values.astype("<f2").view(np.uint16)))
            stats = c.stats(name)
            self.assertEqual(stats.regions[0].dtype, "float16")
            self.assertEqual(stats.regions[0].codec, "fpack")
            self.assertEqual(stats.regions[0].calibration, "first-write")
            c.free(name)

    def test_async_numpy(self) -> None:
        assert np is not None

        async def run() -> None:
            async with AsyncClient(URL) as c:
                name, base = fresh("npa")
                await c.region(name, base, 64 * 64, "uint8", "activation")
                a = np.maximum(np.random.default_rng(1).normal(0, 20, (64, 64)), 0).astype(np.uint8)
                futs = [c.write(base + r * 64, a[r]) for r in range(64)]
                back = c.read_array(base, np.uint8, (64, 64))
                await asyncio.gather(*futs)
                self.assertTrue(np.array_equal(await back, a))
                await c.free(name)

        asyncio.run(run())

    def test_example_conv_emulator(self) -> None:
        script = PY_ROOT / "examples" / "conv_emulator.py"
        env = dict(os.environ, PYTHONPATH=str(PY_ROOT))
        p = subprocess.run([sys.executable, str(script), "--url", URL], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("all tensors read back identical", p.stdout)
        rows = [line.split() for line in p.stdout.splitlines()
                if line.split() and line.split()[0] in ("w", "x", "y", "a")]
        self.assertEqual([r[3] for r in rows], ["apack", "ebpc", "apack", "zvc"])
        for r in rows:
            self.assertGreater(float(r[7]), 0.9)  # a ratio was printed for every region
        self.assertTrue(any(float(r[7]) > 1.2 for r in rows))

    def test_example_conv_emulator_without_numpy(self) -> None:
        # A numpy that cannot be imported, ahead of any installed one: the example must not need it.
        script = PY_ROOT / "examples" / "conv_emulator.py"
        with tempfile.TemporaryDirectory() as blocker:
            Path(blocker, "numpy.py").write_text("raise ImportError('numpy is blocked in this test')\n")
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([blocker, str(PY_ROOT)]))
            p = subprocess.run([sys.executable, str(script), "--url", URL, "--channels", "4",
                                "--filters", "8", "--size", "8"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("conv3x3 4->8 on 8x8: all tensors read back identical", p.stdout)

    def test_example_conv_emulator_no_daemon_one_line(self) -> None:
        # Nothing listens on the discard port: one line on stderr, exit status 1, no traceback.
        script = PY_ROOT / "examples" / "conv_emulator.py"
        env = dict(os.environ, PYTHONPATH=str(PY_ROOT))
        p = subprocess.run([sys.executable, str(script), "--url", "ws://127.0.0.1:9/"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("conv_emulator.py: ws://127.0.0.1:9/: "), lines[0])
        self.assertNotIn("Traceback", p.stderr)


# --- a daemon of its own: token, then shutdown ---------------------------------------

class TokenAndShutdownTest(unittest.TestCase):
    def test_token_then_shutdown(self) -> None:
        d = Daemon("--token", "s3cret").start()
        try:
            with self.assertRaises(sc.AuthError) as cm:
                Client(d.url).connect()
            self.assertEqual(cm.exception.code, "E_AUTH")

            async def run() -> None:
                async with AsyncClient(d.url, token="s3cret") as c:
                    name, base = fresh("down")
                    await c.region(name, base, 1 << 20, "uint8", "activation")
                    futs = [c.write(base + i * 4096, bytes([i % 256]) * 4096) for i in range(200)]
                    await asyncio.sleep(0)  # let the writer send some of them
                    d.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
                    results = await asyncio.gather(*futs, return_exceptions=True)
                    for r in results:
                        self.assertTrue(r is None or isinstance(
                            r, (sc.ShuttingDownError, sc.ConnectionClosedError)), repr(r))
                    # the daemon closes with 1001 (going away) once it has answered
                    for _ in range(500):
                        if c.closed:
                            break
                        await asyncio.sleep(0.01)
                    with self.assertRaises(sc.ConnectionClosedError) as cm2:
                        await c.fence()
                    self.assertEqual(cm2.exception.close_code, 1001)

            asyncio.run(run())
            self.assertEqual(d.proc.wait(15), 0)  # type: ignore[union-attr]
        finally:
            d.stop()


if __name__ == "__main__":
    unittest.main()
