import { encodeFrame } from '../../protocol/wire.ts';
import { FUZZ_BASE } from './frame-gen.ts';
import { RawConnection, type WireResponse } from './raw-connection.ts';

/**
 * Protocol misuse with exact expected answers: requests before hello, use of
 * freed regions, writes racing a free in the same batch and across frames,
 * and a region declared again after free (it must read as zero: nothing of
 * a write still in flight at the free may land in it), and vectors whose
 * elements fail exactly as the single accesses of them do.
 */
export async function runMisuse(url: string, token: string | undefined, tag: number): Promise<string[]> {
  const findings: string[] = [];
  const expect = (what: string, r: WireResponse | undefined, code: string | 'ok'): void => {
    const got = !r ? 'nothing' : r.ok ? 'ok' : r.code;
    if (got !== code) findings.push(`misuse ${what}: expected ${code}, got ${got}${r?.message ? ` (${r.message})` : ''}`);
  };
  const c = await RawConnection.open(url);
  try {
    expect('read before hello', await c.call({ op: 'read', id: 1, addr: 0, len: 4 }), 'E_NO_HELLO');
    expect('writev before hello', await c.call({ op: 'writev', id: 1, addrs: [0], lens: [1], data: new Uint8Array(1) }), 'E_NO_HELLO');
    expect('readv before hello', await c.call({ op: 'readv', id: 1, addrs: [0], lens: [1] }), 'E_NO_HELLO');
    expect('region before hello', await c.call({ op: 'region', id: 2, name: 'x', base: 0, size: 64, dtype: 'int8', kind: 'other' }), 'E_NO_HELLO');
    expect('free before hello', await c.call({ op: 'free', id: 3, name: 'x' }), 'E_NO_HELLO');
    expect('hello', await c.call({ op: 'hello', id: 4, version: 1, token }), 'ok');
    const name = `misuse-${tag}`;
    const base = FUZZ_BASE + 2 ** 30 + (tag % 1000) * 2 ** 20;
    const region = { op: 'region', name, base, size: 65536, dtype: 'int8', kind: 'activation', codec: 'zvc', blockBytes: 4096 };
    const data = new Uint8Array(8192).map((_, i) => (i % 3 === 0 ? 0 : (i * 7) & 0xff));
    expect('declare', await c.call({ ...region, id: 5 }), 'ok');
    expect('write', await c.call({ op: 'write', id: 6, addr: base, data }), 'ok');
    expect('free', await c.call({ op: 'free', id: 7, name }), 'ok');
    expect('read after free', await c.call({ op: 'read', id: 8, addr: base, len: 16 }), 'E_OUT_OF_REGION');
    expect('write after free', await c.call({ op: 'write', id: 9, addr: base, data }), 'E_OUT_OF_REGION');
    expect('free twice', await c.call({ op: 'free', id: 10, name }), 'E_NO_SUCH_REGION');
    expect('stats of freed', await c.call({ op: 'stats', id: 11, region: name }), 'E_NO_SUCH_REGION');
    // One batch: write, free, write, declare again, read. Effects are in order.
    const batch = [
      { ...region, id: 20 },
      { op: 'write', id: 21, addr: base, data },
      { op: 'write', id: 22, addr: base + 100, data: data.subarray(0, 5000) },
      { op: 'free', id: 23, name },
      { op: 'write', id: 24, addr: base, data },
      { ...region, id: 25 },
      { op: 'read', id: 26, addr: base, len: 8192 },
      { op: 'free', id: 27, name },
    ];
    const got = await c.exchange(encodeFrame(batch), true);
    if (got === 'closed') findings.push('misuse batch: connection closed');
    else {
      const by = new Map(got.map((r) => [r.id, r]));
      const want: Record<number, string> = { 20: 'ok', 21: 'ok', 22: 'ok', 23: 'ok', 24: 'E_OUT_OF_REGION', 25: 'ok', 26: 'ok', 27: 'ok' };
      for (const [id, code] of Object.entries(want)) expect(`batch #${id}`, by.get(Number(id)), code);
      const back = by.get(26)?.data;
      if (back && back.some((v) => v !== 0)) findings.push('misuse: a region declared again after free reads old data');
    }
    // Across frames, without waiting: writes still in flight when the free arrives.
    c.send(encodeFrame({ ...region, id: 30 }));
    for (let i = 0; i < 16; i++) c.send(encodeFrame({ op: 'write', id: 31 + i, addr: base + i * 4096, data: data.subarray(0, 4096) }));
    c.send(encodeFrame({ op: 'free', id: 50, name }));
    c.send(encodeFrame({ ...region, id: 51 }));
    const tail = await c.exchange(encodeFrame({ op: 'read', id: 52, addr: base, len: 65536 }), true);
    if (tail === 'closed') findings.push('misuse race: connection closed');
    else {
      for (const r of tail) if (!r.ok) findings.push(`misuse race: #${r.id} ${r.code}`);
      const read = tail.find((r) => r.id === 52);
      if (!read?.data || read.data.length !== 65536 || read.data.some((v) => v !== 0)) findings.push('misuse race: data written before free visible after redeclare');
    }
    await vectorMisuse(c, base, name, findings);
    expect('final free', await c.call({ op: 'free', id: 60, name }), 'ok');
  } catch (e) {
    findings.push(`misuse: ${(e as Error).message}`);
  } finally {
    c.close();
  }
  return findings;
}

/**
 * Vectors over the (declared) region at `base` and around it: every element
 * that fails must carry the code the single write or read of it gets, the
 * others apply, and a freed region's elements all fail.
 */
async function vectorMisuse(c: RawConnection, base: number, name: string, findings: string[]): Promise<void> {
  // In the region; crossing its end (65536 bytes); past it; below it; zero bytes inside; overlapping the first.
  const addrs = [base + 64, base + 65536 - 16, base + 65536 + 100, base - 64, base + 4096, base + 96];
  const lens = [64, 64, 32, 32, 0, 64];
  const data = new Uint8Array(lens.reduce((a, b) => a + b, 0)).map((_, i) => 1 + (i % 250));
  let id = 100;
  const singles: (string | 'ok')[] = [];
  for (let i = 0, off = 0; i < addrs.length; off += lens[i], i++) {
    // Other bytes than the vector's, so the read-back below tells them apart.
    const r = await c.call({ op: 'write', id: id++, addr: addrs[i], data: data.subarray(off, off + lens[i]).map((v) => v ^ 0xff) });
    singles.push(r.ok ? 'ok' : (r.code as string));
  }
  const codesOf = (r: WireResponse): (string | 'ok')[] => {
    const failed = ((r as { failed?: { index: number; code: string }[] }).failed ?? []);
    return addrs.map((_, i) => failed.find((f) => f.index === i)?.code ?? 'ok');
  };
  const wv = await c.call({ op: 'writev', id: id++, addrs, lens, data });
  if (!wv.ok) findings.push(`misuse writev: refused whole with ${wv.code} (${wv.message})`);
  else if (codesOf(wv).join() !== singles.join()) findings.push(`misuse writev: element codes ${codesOf(wv).join()}, singles got ${singles.join()}`);
  const readSingles: (string | 'ok')[] = [];
  for (let i = 0; i < addrs.length; i++) {
    const r = await c.call({ op: 'read', id: id++, addr: addrs[i], len: lens[i] });
    readSingles.push(r.ok ? 'ok' : (r.code as string));
  }
  const rv = await c.call({ op: 'readv', id: id++, addrs, lens });
  if (!rv.ok) findings.push(`misuse readv: refused whole with ${rv.code} (${rv.message})`);
  else {
    if (codesOf(rv).join() !== readSingles.join()) findings.push(`misuse readv: element codes ${codesOf(rv).join()}, singles got ${readSingles.join()}`);
    // Element 0 reads what element 0 wrote, except its last 32 bytes, which element 5 (base + 96) overwrote.
    const want = new Uint8Array(64);
    want.set(data.subarray(0, 32), 0);
    want.set(data.subarray(64 + 64 + 32 + 32, 64 + 64 + 32 + 32 + 32), 32);
    if (!rv.data || rv.data.subarray(0, 64).some((v, i) => v !== want[i])) findings.push('misuse readv: element 0 does not read the bytes the writev left there (later elements win)');
  }
  expect2(findings, 'free before vector', await c.call({ op: 'free', id: id++, name }));
  const after = await c.call({ op: 'writev', id: id++, addrs: [base, base + 64], lens: [4, 4], data: new Uint8Array(8) });
  if (!after.ok || codesOf(after).slice(0, 2).join() !== 'E_OUT_OF_REGION,E_OUT_OF_REGION') findings.push(`misuse writev after free: ${after.ok ? codesOf(after).slice(0, 2).join() : after.code}, expected both elements E_OUT_OF_REGION`);
  // Declared again for the caller's final free.
  expect2(findings, 'declare again', await c.call({ op: 'region', id: id++, name, base, size: 65536, dtype: 'int8', kind: 'activation', codec: 'zvc', blockBytes: 4096 }));
}

function expect2(findings: string[], what: string, r: WireResponse): void {
  if (!r.ok) findings.push(`misuse ${what}: expected ok, got ${r.code} (${r.message})`);
}
