import { encodeFrame } from '../../protocol/wire.ts';
import { FUZZ_BASE } from './frame-gen.ts';
import { RawConnection, type WireResponse } from './raw-connection.ts';

/**
 * Protocol misuse with exact expected answers: requests before hello, use of
 * freed regions, writes racing a free in the same batch and across frames,
 * and a region declared again after free (it must read as zero: nothing of
 * a write still in flight at the free may land in it).
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
    expect('final free', await c.call({ op: 'free', id: 60, name }), 'ok');
  } catch (e) {
    findings.push(`misuse: ${(e as Error).message}`);
  } finally {
    c.close();
  }
  return findings;
}
