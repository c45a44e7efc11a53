#!/usr/bin/python3
"""A tiny accelerator emulator whose tensors live behind the shimpack shim.

One 3x3 convolution layer, int8 weights and uint8 post-ReLU input
activations, computed in numpy the way a quantised accelerator would:
int32 accumulation, requantisation to int8, ReLU to uint8. Every tensor goes
through the shim: the host writes weights and input in DRAM-sized bursts, the
"accelerator" reads them back (checked identical to what was written),
computes, writes its outputs and the host reads those back (checked too).
At the end it prints each region's compression figures from ``stats``.

Regions: ``w`` int8 weights (APack), ``x`` uint8 input (EBPC), ``y`` int8
pre-activation output (APack, table fitted from its first write) and ``a``
uint8 post-ReLU output (ZVC, which only removes zeros). Region names carry the
process id so several runs can share a daemon; they are freed at the end.

    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/conv_emulator.py \\
        --url ws://127.0.0.1:7420/

Exit status 0 when every read-back matched, 1 otherwise (AssertionError).
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import numpy as np
except ImportError:  # the client does not need numpy, this example does
    sys.exit("conv_emulator.py needs numpy (Debian: python3-numpy)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from shimpack_client import Client  # noqa: E402

MiB = 1 << 20


def make_tensors(rng: "np.random.Generator", c_in: int, c_out: int, hw: int):
    """Weights ~ Laplace quantised to int8 (mostly small), input post-ReLU uint8 (about half zero)."""
    w = np.clip(np.round(rng.laplace(0.0, 6.0, size=(c_out, c_in, 3, 3))), -127, 127).astype(np.int8)
    pre = rng.normal(0.0, 24.0, size=(c_in, hw, hw))
    x = np.clip(np.round(pre), 0, 255).astype(np.uint8)  # ReLU zeroes the negative half
    return w, x


def conv3x3(x: "np.ndarray", w: "np.ndarray") -> "np.ndarray":
    """Same-padded 3x3 convolution with int32 accumulation: (C,H,W) x (K,C,3,3) -> (K,H,W)."""
    xp = np.pad(x.astype(np.int32), ((0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # C,H,W,3,3
    return np.einsum("chwij,kcij->khw", windows, w.astype(np.int32), optimize=True)


def requantise(acc: "np.ndarray") -> "np.ndarray":
    """Scale int32 sums into int8, putting three standard deviations at the int8 limit."""
    scale = 127.0 / max(1.0, 3.0 * float(acc.std()))
    return np.clip(np.round(acc * scale), -128, 127).astype(np.int8)


def write_bursts(client: Client, base: int, array: "np.ndarray", burst: int) -> None:
    """Write an array as an accelerator DMA would: back-to-back bursts, pipelined in one batch."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    with client.batch() as b:
        for off in range(0, flat.size, burst):
            b.write(base + off, flat[off:off + burst])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="ws://127.0.0.1:7420/", help="daemon WebSocket URL")
    ap.add_argument("--seed", type=int, default=1, help="random seed for the tensors")
    ap.add_argument("--channels", type=int, default=16, help="input channels")
    ap.add_argument("--filters", type=int, default=32, help="output channels")
    ap.add_argument("--size", type=int, default=32, help="feature map height and width")
    ap.add_argument("--burst", type=int, default=4096, help="bytes per DMA write")
    ap.add_argument("--keep", action="store_true", help="leave the regions declared afterwards")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    w, x = make_tensors(rng, args.channels, args.filters, args.size)
    prefix = f"conv-emulator-{os.getpid()}-"
    out_shape = (args.filters, args.size, args.size)

    with Client(args.url) as c:
        # Each tensor gets its own 1 MiB-aligned region, above where other tools usually map.
        base0 = (1 << 40) + (os.getpid() % 4096) * 64 * MiB
        layout = {  # name: (base, dtype, kind, codec, nbytes)
            "w": (base0, "int8", "weight", "apack", w.nbytes),
            "x": (base0 + 16 * MiB, "uint8", "activation", "ebpc", x.nbytes),
            "y": (base0 + 32 * MiB, "int8", "activation", "apack", int(np.prod(out_shape))),
            "a": (base0 + 48 * MiB, "uint8", "activation", "zvc", int(np.prod(out_shape))),
        }
        for name, (base, dtype, kind, codec, nbytes) in layout.items():
            if codec not in c.server.codecs:
                codec = None  # let the daemon choose its default for the kind
            c.region(prefix + name, base, nbytes, dtype, kind, codec=codec)
        try:
            # Host: weights and input activations into the shim.
            write_bursts(c, layout["w"][0], w, args.burst)
            write_bursts(c, layout["x"][0], x, args.burst)

            # Accelerator: fetch operands through the shim; they must be bit-exact.
            w_dev = c.read_array(layout["w"][0], np.int8, w.shape)
            x_dev = c.read_array(layout["x"][0], np.uint8, x.shape)
            assert np.array_equal(w_dev, w), "weights changed in the shim"
            assert np.array_equal(x_dev, x), "input activations changed in the shim"

            y = requantise(conv3x3(x_dev, w_dev))
            a = np.maximum(y, 0).astype(np.uint8)
            write_bursts(c, layout["y"][0], y, args.burst)
            write_bursts(c, layout["a"][0], a, args.burst)

            # Host: outputs back.
            assert np.array_equal(c.read_array(layout["y"][0], np.int8, out_shape), y), \
                "int8 output changed in the shim"
            assert np.array_equal(c.read_array(layout["a"][0], np.uint8, out_shape), a), \
                "uint8 output changed in the shim"

            print(f"conv3x3 {args.channels}->{args.filters} on {args.size}x{args.size}: "
                  f"all tensors read back identical")
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
