import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';

/**
 * Node's general-purpose compressors applied the way a shim would have to:
 * every block on its own (no shared window), and a block that would grow is
 * counted at its raw size. No framing or index is added, which flatters them
 * slightly next to shimpack's containers (whose index is counted).
 */
export function zlibBlockedBytes(data: Uint8Array, blockSize: number, level: number): number {
  let total = 0;
  for (let off = 0; off < data.length; off += blockSize) {
    const blk = data.subarray(off, Math.min(data.length, off + blockSize));
    total += Math.min(blk.length, deflateRawSync(blk, { level }).length);
  }
  return total;
}

export function brotliBlockedBytes(data: Uint8Array, blockSize: number, quality: number): number {
  let total = 0;
  for (let off = 0; off < data.length; off += blockSize) {
    const blk = data.subarray(off, Math.min(data.length, off + blockSize));
    const out = brotliCompressSync(blk, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: quality,
        [constants.BROTLI_PARAM_SIZE_HINT]: blk.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_GENERIC,
      },
    });
    total += Math.min(blk.length, out.length);
  }
  return total;
}

/** Whether the zstd command-line tool (Debian package zstd) is on the PATH: Node 20's zlib has no zstd. */
export function zstdAvailable(): boolean {
  const r = spawnSync('zstd', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * zstd at `level` (19 for the baseline) on every block on its own,
 * through the zstd tool: the blocks are written as files of a temporary
 * folder and compressed in one call (frames without checksum, as
 * `zstd -19 --no-check`); a block that would grow counts at its raw size.
 */
export function zstdBlockedBytes(data: Uint8Array, blockSize: number, level: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'shimpack-zstd-'));
  try {
    const files: string[] = [];
    const raw: number[] = [];
    for (let off = 0, i = 0; off < data.length; off += blockSize, i++) {
      const f = join(dir, `b${i}`);
      const blk = data.subarray(off, Math.min(data.length, off + blockSize));
      writeFileSync(f, blk);
      files.push(f);
      raw.push(blk.length);
    }
    if (files.length === 0) return 0;
    const r = spawnSync('zstd', [`-${level}`, '--no-check', '-q', '-f', ...files], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr || r.error?.message}`);
    const made = new Set(readdirSync(dir));
    let total = 0;
    files.forEach((f, i) => {
      const z = `${f}.zst`;
      if (!made.has(z.slice(dir.length + 1))) throw new Error(`zstd wrote no ${z}`);
      total += Math.min(raw[i], statSync(z).size);
    });
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
