import type { Response } from '../../protocol/types.ts';
import { encodeFrame } from '../../protocol/wire.ts';

/** Largest msgpack array header (array32): 0xdd + 4 bytes of count. */
const ARRAY_HEADER_MAX = 5;

/** ids above this go out as 64-bit msgpack integers (a BigInt) rather than msgpackr's float64 (protocol/README.md section 2). */
const UINT32_MAX = 0xffffffff;

/** Echo large ids as integers: msgpackr writes numbers above 2^32 - 1 as float64. */
function withIntegerId(r: Response): unknown {
  return r.id !== null && r.id > UINT32_MAX ? { ...r, id: BigInt(r.id) } : r;
}

function encodeResponse(r: Response): Uint8Array {
  return encodeFrame(withIntegerId(r));
}

/** Estimated encoded size (only decides whether to try one frame first; the real size is checked). */
function roughSize(list: readonly Response[]): number {
  let n = ARRAY_HEADER_MAX;
  for (const r of list) {
    n += 64;
    const x = r as { data?: Uint8Array; regions?: unknown[]; message?: string };
    if (x.data) n += x.data.length;
    else if (x.regions) n += 1024 * (x.regions.length + 1);
    else if (x.message) n += 3 * x.message.length;
  }
  return n;
}

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** One msgpack array frame from already-encoded maps (header + the maps, copied once). */
function joinAsArray(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  const head = arrayHeader(parts.length);
  const out = Buffer.allocUnsafe(head.length + bytes);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Pack responses into as few frames as fit, none larger than `maxFrameBytes`:
 * one response alone goes out as a map, several as an array of maps. A single
 * response that cannot fit (only `stats` of very many regions can: read
 * lengths are bounded at admission) is replaced by an E_TOO_LARGE answer to
 * the same id, so the client still gets exactly one answer.
 */
export function packResponses(list: readonly Response[], maxFrameBytes: number, onTooLarge?: () => void): Uint8Array[] {
  if (list.length === 1) return [fitOne(list[0], maxFrameBytes, onTooLarge)];
  // Fast path (the usual case): everything fits in one frame, packed in one call.
  if (roughSize(list) <= maxFrameBytes) {
    const frame = encodeFrame(list.some((r) => r.id !== null && r.id > UINT32_MAX) ? list.map(withIntegerId) : list);
    if (frame.length <= maxFrameBytes) return [frame];
  }
  const frames: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let groupBytes = 0;
  const close = (): void => {
    if (group.length === 1) frames.push(group[0]);
    else if (group.length > 1) frames.push(joinAsArray(group, groupBytes));
    group = [];
    groupBytes = 0;
  };
  for (const r of list) {
    const enc = fitOne(r, maxFrameBytes, onTooLarge);
    if (group.length > 0 && ARRAY_HEADER_MAX + groupBytes + enc.length > maxFrameBytes) close();
    group.push(enc);
    groupBytes += enc.length;
  }
  close();
  return frames;
}

/** The response encoded, or an E_TOO_LARGE answer in its place when it alone exceeds the limit. */
function fitOne(r: Response, maxFrameBytes: number, onTooLarge?: () => void): Uint8Array {
  const enc = encodeResponse(r);
  if (enc.length <= maxFrameBytes) return enc;
  onTooLarge?.();
  return encodeResponse({
    id: r.id,
    ok: false,
    code: 'E_TOO_LARGE',
    message: `the response would be ${enc.length} bytes, over maxFrameBytes (${maxFrameBytes}); for stats, ask per region`,
  });
}
