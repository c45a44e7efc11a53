"""Channel routing in the Python client against 2 channel daemons (memory backend).

The daemons enforce the rule with the TypeScript implementation
(protocol/channel.ts): every piece the Python client routes must be accepted
by the daemon it is sent to, which checks that both implement the same rule.
"""

from __future__ import annotations

import random
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import shimpack_client as sc  # noqa: E402
from shimpack_client import ChannelClient, Client, split_by_channel  # noqa: E402

from test_client import Daemon  # noqa: E402

GRANULE = 4096
DAEMONS = []


def setUpModule() -> None:
    for i in range(2):
        DAEMONS.append(Daemon("--channel", f"{i}/2", "--channel-granule", str(GRANULE)).start())


def tearDownModule() -> None:
    for d in DAEMONS:
        d.stop()


class ChannelRuleTest(unittest.TestCase):
    def test_pieces_cover_the_access_in_order_within_one_granule_each(self) -> None:
        rng = random.Random(1616)
        for _ in range(2000):
            n, g = rng.randint(1, 8), 64 << rng.randint(0, 6)
            addr, length = rng.randrange(1 << 40), rng.randrange(100_000)
            at = addr
            for ch, a, ln, off in split_by_channel(addr, length, n, g):
                self.assertEqual((a, off), (at, at - addr))
                self.assertEqual(ch, (a // g) % n)
                if ln and n > 1:
                    self.assertEqual(a // g, (a + ln - 1) // g)
                at += ln
            self.assertEqual(at, addr + length)


class ChannelClientTest(unittest.TestCase):
    def test_routed_writes_and_reads_round_trip_and_each_piece_is_accepted_by_its_daemon(self) -> None:
        rng = random.Random(7)
        with ChannelClient([d.url for d in DAEMONS]) as c:
            c.region("py-ch", base=0, size=1 << 20, dtype="uint8", kind="other", codec="zvc")
            model = bytearray(1 << 20)
            for _ in range(60):
                addr = rng.randrange(1 << 20)
                data = bytes(rng.randrange(4) for _ in range(rng.randrange(min(20000, (1 << 20) - addr) + 1)))
                c.write(addr, data)
                model[addr:addr + len(data)] = data
            self.assertEqual(c.read(0, 1 << 20), bytes(model))
            st = c.stats("py-ch")
            self.assertEqual(st.totals.raw_bytes_stored, sum(r.raw_bytes_stored for r in st.regions))
            self.assertEqual(len(st.regions), 1)
            c.free("py-ch")

    def test_wrong_channel_and_wrong_url_order(self) -> None:
        with Client(DAEMONS[1].url) as one:
            one.region("py-wrong", base=1 << 30, size=1 << 16, dtype="int8", kind="other", codec="raw")
            with self.assertRaises(sc.WrongChannelError):
                one.write(1 << 30, b"\x01" * 10)  # granule of channel 0
            self.assertEqual(one.stats("py-wrong").totals.writes, 0)
            one.free("py-wrong")
        with self.assertRaises(sc.ChannelsError):
            ChannelClient([DAEMONS[1].url, DAEMONS[0].url]).connect()
        with self.assertRaises(sc.ChannelsError):
            ChannelClient([DAEMONS[0].url]).connect()


    def test_vectors_are_split_per_channel_and_keep_the_caller_indexes(self) -> None:
        with ChannelClient([d.url for d in DAEMONS]) as c:
            base = 1 << 24
            c.region("py-chv", base=base, size=1 << 16, dtype="uint8", kind="other", codec="raw")
            addrs = [base + 10, base + GRANULE - 20, base + (1 << 16) - 4, base + GRANULE + 200]
            lens = [30, 100, 16, 64]
            data = bytes(range(210))
            failed = c.writev(addrs, lens, data)
            self.assertEqual([(f.index, f.code) for f in failed], [(2, "E_OUT_OF_REGION")])
            got, rfailed = c.readv(addrs, lens)
            self.assertEqual([(f.index, f.code) for f in rfailed], [(2, "E_OUT_OF_REGION")])
            self.assertEqual(got, data[:130] + bytes(16) + data[146:])
            self.assertEqual(c.read(base + GRANULE - 20, 100), data[30:130])
            c.free("py-chv")

if __name__ == "__main__":
    unittest.main()
