// Lane CPU cost of shadow coding: one lane's LaneProcessor codes the same
// write batches (4 KiB blocks of the bench's real int8 weights) with and
// without shadow codecs, interleaved, and reports thread CPU time per block
// (process.cpuUsage counts this process's CPU only; the fastest of the
// interleaved rounds is taken, since contention on a loaded machine only adds).
// Usage: node --import tsx scripts/shadow-cost.ts [codec] [shadow list] [sample] [rounds]
import { benchData } from '../daemon/bench-daemon/run.ts';
import { codecByName } from '../daemon/codecs/index.ts';
import { loadDataset } from '../daemon/dataset/manifest.ts';
import { JOB_FIELDS, JOB_WRITE, type LaneBatch, type ShadowSpec } from '../daemon/lanes/batch-format.ts';
import { LaneProcessor } from '../daemon/lanes/lane-processor.ts';

const [codec = 'apack', list = 'apack,ebpc,scc,zvc', sampleArg = '16', roundsArg = '6'] = process.argv.slice(2);
const sample = Number(sampleArg);
const rounds = Number(roundsArg);
const { data, stride } = benchData(loadDataset(), 4 << 20);
const BLOCK = 4096;
const blocks = Math.floor(data.length / BLOCK);
const opts = { stride, kind: 'weight' as const };
const model = codecByName(codec).fit(data.subarray(0, 65536), 'int8', opts);
const shadow: ShadowSpec = {
  sample,
  models: list.split(',').map((c, slot) => ({ slot, codec: c, params: codecByName(c).fit(data.subarray(0, 65536), 'int8', opts).params })),
};

function batch(seq: number): LaneBatch {
  const jobs = new Float64Array(blocks * JOB_FIELDS);
  for (let b = 0; b < blocks; b++) {
    const o = b * JOB_FIELDS;
    jobs.set([JOB_WRITE, 1, b, BLOCK, 0, BLOCK, b * BLOCK, -1, 0], o);
  }
  const buf = new ArrayBuffer(blocks * BLOCK);
  new Uint8Array(buf).set(data.subarray(0, blocks * BLOCK));
  return { type: 'batch', seq, builtAfter: seq - 1, jobs, data: buf, spare: [] };
}

/** Two lanes, one with shadow codecs, each warmed up with two batches. */
const lanes = [false, true].map((withShadow) => {
  const lane = new LaneProcessor();
  lane.handle({ type: 'model', region: 1, codec, dtype: 'int8', params: model.params, ...(withShadow ? { shadow } : {}) });
  return { lane, seq: 0 };
});
function cpuPerBlock(i: number): number {
  const l = lanes[i];
  l.seq++;
  const b = batch(l.seq);
  const t = process.cpuUsage();
  l.lane.handle(b);
  const u = process.cpuUsage(t);
  return (u.user + u.system) / blocks;
}
for (let w = 0; w < 2; w++) for (let i = 0; i < 2; i++) cpuPerBlock(i);

const plain: number[] = [];
const shadowed: number[] = [];
for (let r = 0; r < rounds; r++) {
  plain.push(cpuPerBlock(0));
  shadowed.push(cpuPerBlock(1));
}
// The fastest round of each: other load on the machine only ever adds time (cache and core contention).
const p = Math.min(...plain);
const s = Math.min(...shadowed);
process.stdout.write(`${codec} region, shadow ${list} 1/${sample}, ${blocks} blocks of ${BLOCK} B, ${rounds} rounds: lane CPU ${p.toFixed(1)} us/block plain, ${s.toFixed(1)} us/block shadow (+${(((s - p) / p) * 100).toFixed(1)} %)\n`);
