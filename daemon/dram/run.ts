import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DramError } from './errors.ts';
import { parseDramsim3Json, type DramSimStats } from './parse.ts';

/** Run dramsim3main on a trace for `cycles` cycles; its dramsim3.json goes into `outDir`. */
export function runDramsim3(binary: string, config: string, trace: string, cycles: number, outDir: string): Promise<DramSimStats> {
  mkdirSync(outDir, { recursive: true });
  return new Promise((resolve, reject) => {
    // DRAMsim3 prints its statistics to stdout as well: only the last lines are kept, for errors.
    const child = spawn(binary, [config, '-c', String(cycles), '-t', trace, '-o', outDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (e: NodeJS.ErrnoException) => reject(new DramError('E_DRAM_RUN', `cannot run ${binary}: ${e.code ?? e.message}`)));
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(new DramError('E_DRAM_RUN', `dramsim3main ${config} on ${trace} failed (${signal ?? `exit ${code}`}):\n${tail.trim()}`));
        return;
      }
      try {
        resolve(parseDramsim3Json(join(outDir, 'dramsim3.json')));
      } catch (e) {
        reject(e);
      }
    });
  });
}
