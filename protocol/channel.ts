/**
 * Memory channels (protocol/README.md section 8): the one rule that maps an
 * address to the daemon serving it, shared by the daemon (which refuses
 * other addresses) and the TS client and replay (which route by it). The
 * Python client implements the same rule from the specification.
 *
 * Addresses are interleaved in granules: granule k = [k*G, (k+1)*G) belongs
 * to channel k mod N. With N = 1 every address is channel 0's.
 */
export interface ChannelLayout {
  /** N: how many channels. */
  readonly channels: number;
  /** G: bytes of consecutive addresses on one channel. */
  readonly granule: number;
}

export const MAX_CHANNELS = 1024;

/** "I/N" -> {index: I, channels: N}, or undefined when it is not 0 <= I < N <= MAX_CHANNELS. */
export function parseChannel(text: string): { index: number; channels: number } | undefined {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const channels = Number(m[2]);
  if (channels < 1 || channels > MAX_CHANNELS || index >= channels) return undefined;
  return { index, channels };
}

/** The channel serving byte `addr`. */
export function channelOf(addr: number, layout: ChannelLayout): number {
  return layout.channels === 1 ? 0 : Math.floor(addr / layout.granule) % layout.channels;
}

/** One channel's share of an access: `len` bytes at `addr`, `offset` bytes into the access. */
export interface ChannelPiece {
  readonly channel: number;
  readonly addr: number;
  readonly len: number;
  readonly offset: number;
}

/**
 * Cut [addr, addr + len) at granule boundaries, in address order, each piece
 * tagged with its channel. A zero-length access is one piece on the channel of
 * `addr`. With one channel nothing is cut.
 */
export function splitByChannel(addr: number, len: number, layout: ChannelLayout): ChannelPiece[] {
  if (layout.channels === 1 || len === 0) return [{ channel: channelOf(addr, layout), addr, len, offset: 0 }];
  const out: ChannelPiece[] = [];
  let at = addr;
  const end = addr + len;
  while (at < end) {
    const next = Math.min(end, (Math.floor(at / layout.granule) + 1) * layout.granule);
    out.push({ channel: channelOf(at, layout), addr: at, len: next - at, offset: at - addr });
    at = next;
  }
  return out;
}

/** True when channel `index` serves every byte of [addr, addr + len) (for len 0: byte addr). */
export function servesRange(addr: number, len: number, layout: ChannelLayout, index: number): boolean {
  if (layout.channels === 1) return true;
  const first = Math.floor(addr / layout.granule);
  const last = len === 0 ? first : Math.floor((addr + len - 1) / layout.granule);
  return first === last && first % layout.channels === index;
}
