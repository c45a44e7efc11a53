"""A tiny accelerator emulator whose tensors live behind the shimpack shim.

One 3x3 convolution layer, int8 weights and uint8 post-ReLU input
activations, computed the way a quantised accelerator would: int32
accumulation, requantisation to int8, ReLU to uint8. Every tensor goes
through the shim: the host writes weights and input in DRAM-sized bursts, the
"accelerator" reads them back (checked identical to what was written),
computes, writes its outputs and the host reads those back (checked too).
At the end it prints each region's compression figures from ``stats``.

Plain Python (the standard library, the client, and Debian's
python3-websockets and python3-msgpack): no numpy.

Regions: ``w`` int8 weights (APack), ``x`` uint8 input (EBPC), ``y`` int8
pre-activation output (APack, table fitted from its first write) and ``a``
uint8 post-ReLU output (ZVC, which only removes zeros). Region names carry the
process id so several runs can share a daemon; they are freed at the end.

    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/conv_emulator.py \\
        --url ws://127.0.0.1:7420/

Exit status 0 when every read-back matched; 1 when the daemon cannot be
reached or refuses a request (one line on stderr), or a read-back differs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from array import array

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from shimpack_client import Client, ShimpackError  # noqa: E402

MiB = 1 << 20


def make_tensors(rng: random.Random, c_in: int, c_out: int, hw: int):
    """Weights ~ Laplace quantised to int8 (mostly small), K,C,3,3 order; input post-ReLU uint8 (about half zero), C,H,W order."""
    def laplace(scale: float) -> float:
        return (-1 if rng.random() < 0.5 else 1) * rng.expovariate(1.0 / scale)
    w = array("b", (max(-127, min(127, round(laplace(6.0)))) for _ in range(c_out * c_in * 9)))
    x = array("B", (max(0, min(255, round(rng.gauss(0.0, 24.0)))) for _ in range(c_in * hw * hw)))  # ReLU zeroes the negative half
    return w, x


def conv3x3(x: array, w: array, c_in: int, c_out: int, hw: int) -> list:
    """Same-padded 3x3 convolution with integer accumulation: (C,H,W) x (K,C,3,3) -> K*H*W sums."""
    acc = [0] * (c_out * hw * hw)
    for k in range(c_out):
        for c in range(c_in):
            taps = w[(k * c_in + c) * 9:(k * c_in + c) * 9 + 9]
            plane = x[c * hw * hw:(c + 1) * hw * hw]
            for i in range(3):
                for j in range(3):
                    t = taps[i * 3 + j]
                    if t == 0:
                        continue
                    for h in range(max(0, 1 - i), min(hw, hw + 1 - i)):
                        row = (h + i - 1) * hw
                        out = (k * hw + h) * hw
                        for v in range(max(0, 1 - j), min(hw, hw + 1 - j)):
                            acc[out + v] += t * plane[row + v + j - 1]
    return acc


def requantise(acc: list) -> array:
    """Scale the sums into int8, putting three standard deviations at the int8 limit."""
    mean = sum(acc) / len(acc)
    std = math.sqrt(sum((a - mean) ** 2 for a in acc) / len(acc))
    scale = 127.0 / max(1.0, 3.0 * std)
    return array("b", (max(-128, min(127, round(a * scale))) for a in acc))


def write_bursts(client: Client, base: int, data: bytes, burst: int) -> None:
    """Write bytes as an accelerator DMA would: back-to-back bursts, pipelined in one batch."""
    with client.batch() as b:
        for off in range(0, len(data), burst):
            b.write(base + off, data[off:off + burst])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="ws://127.0.0.1:7420/", help="daemon WebSocket URL")
    ap.add_argument("--seed", type=int, default=1, help="random seed for the tensors")
    ap.add_argument("--channels", type=int, default=16, help="input channels")
    ap.add_argument("--filters", type=int, default=32, help="output channels")
    ap.add_argument("--size", type=int, default=16, help="feature map height and width")
    ap.add_argument("--burst", type=int, default=4096, help="bytes per DMA write")
    ap.add_argument("--keep", action="store_true", help="leave the regions declared afterwards")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except (OSError, ShimpackError, TimeoutError) as e:
        # One line, not a traceback: the usual cause is a daemon that is not running.
        print(f"conv_emulator.py: {args.url}: {e or type(e).__name__}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    c_in, c_out, hw = args.channels, args.filters, args.size
    w, x = make_tensors(rng, c_in, c_out, hw)
    prefix = f"conv-emulator-{os.getpid()}-"
    out_len = c_out * hw * hw

    with Client(args.url) as c:
        # Each tensor gets its own 1 MiB-aligned region, above where other tools usually map.
        base0 = (1 << 40) + (os.getpid() % 4096) * 64 * MiB
        layout = {  # name: (base, dtype, kind, codec, nbytes)
            "w": (base0, "int8", "weight", "apack", len(w)),
            "x": (base0 + 16 * MiB, "uint8", "activation", "ebpc", len(x)),
            "y": (base0 + 32 * MiB, "int8", "activation", "apack", out_len),
            "a": (base0 + 48 * MiB, "uint8", "activation", "zvc", out_len),
        }
        for name, (base, dtype, kind, codec, nbytes) in layout.items():
            if codec not in c.server.codecs:
                codec = None  # let the daemon choose its default for the kind
            c.region(prefix + name, base, nbytes, dtype, kind, codec=codec)
        try:
            # Host: weights and input activations into the shim.
            write_bursts(c, layout["w"][0], w.tobytes(), args.burst)
            write_bursts(c, layout["x"][0], x.tobytes(), args.burst)

            # Accelerator: fetch operands through the shim; they must be bit-exact.
            w_dev = array("b", c.read(layout["w"][0], len(w)))
            x_dev = array("B", c.read(layout["x"][0], len(x)))
            if w_dev != w or x_dev != x:
                print("conv_emulator.py: operands changed in the shim", file=sys.stderr)
                return 1

            y = requantise(conv3x3(x_dev, w_dev, c_in, c_out, hw))
            a = array("B", (max(0, v) for v in y))
            write_bursts(c, layout["y"][0], y.tobytes(), args.burst)
            write_bursts(c, layout["a"][0], a.tobytes(), args.burst)

            # Host: outputs back.
            if bytes(c.read(layout["y"][0], out_len)) != y.tobytes() or bytes(c.read(layout["a"][0], out_len)) != a.tobytes():
                print("conv_emulator.py: outputs changed in the shim", file=sys.stderr)
                return 1

            print(f"conv3x3 {c_in}->{c_out} on {hw}x{hw}: all tensors read back identical")
            print(f"{'region':<4} {'kind':<10} {'dtype':<5} {'codec':<5} {'calibration':<12} "
                  f"{'raw B':>8} {'stored B':>8} {'ratio':>6} {'bursts':>7}")
            for name in layout:
                s = c.stats(prefix + name).regions[0]
                print(f"{name:<4} {s.kind:<10} {s.dtype:<5} {s.codec:<5} {s.calibration:<12} "
                      f"{s.raw_bytes_stored:>8} {s.stored_bytes:>8} {s.ratio:>6.2f} "
                      f"{s.burst_ratio:>6.2f}x")
        finally:
            if not args.keep:
                for name in layout:
                    c.free(prefix + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
