import { TraceError } from './errors.ts';
import type { RegionKind, TraceDtype } from './format.ts';
import type { BoundPayload, PayloadSource } from './payload.ts';

/**
 * Synthetic burst data with a stated distribution, seeded and deterministic:
 * byte i of region r is a function of (seed, r, i) alone (a counter-based
 * hash, no generator state), so any burst can be produced out of order.
 *
 *   zeros                         every byte 0 (uint8)
 *   uniform                       bytes uniform on 0..255 (uint8)
 *   relu[:sparsity=P,mean=M]      0 with probability P (default 0.5), else
 *                                 ceil of an exponential with mean M (default 24),
 *                                 clamped to 1..255: a post-ReLU uint8 map
 *   gaussian[:sigma=S,mean=U]     round(N(U, S^2)) clamped to -128..127, as int8
 *                                 two's complement (default S 10, U 0): weights
 * Every kind accepts seed=N (default 1).
 */
export type SyntheticKind = 'zeros' | 'uniform' | 'relu' | 'gaussian';

export interface SyntheticSpec {
  readonly kind: SyntheticKind;
  readonly seed: number;
  readonly sparsity: number;
  readonly mean: number;
  readonly sigma: number;
  /** The spec in canonical form, every parameter spelled out. */
  readonly text: string;
}

const PARAMS: Record<SyntheticKind, readonly string[]> = {
  zeros: ['seed'],
  uniform: ['seed'],
  relu: ['seed', 'sparsity', 'mean'],
  gaussian: ['seed', 'sigma', 'mean'],
};

export function parseSyntheticSpec(spec: string): SyntheticSpec {
  const [rawKind, rawParams = ''] = spec.trim().split(':', 2);
  const kind = rawKind.trim().toLowerCase();
  if (!(kind in PARAMS)) {
    throw new TraceError('E_SYNTHETIC_SPEC', `unknown synthetic distribution "${rawKind}": expected zeros, uniform, relu or gaussian`);
  }
  const k = kind as SyntheticKind;
  const values: Record<string, number> = { seed: 1, sparsity: 0.5, mean: k === 'relu' ? 24 : 0, sigma: 10 };
  for (const part of rawParams.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([a-z]+)\s*=\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)$/i.exec(part);
    if (!m) throw new TraceError('E_SYNTHETIC_SPEC', `synthetic parameter "${part}" is not NAME=NUMBER`);
    const name = m[1].toLowerCase();
    if (!PARAMS[k].includes(name)) {
      throw new TraceError('E_SYNTHETIC_SPEC', `${k} takes ${PARAMS[k].join(', ')}, not "${name}"`);
    }
    values[name] = Number(m[2]);
  }
  if (!Number.isInteger(values.seed) || values.seed < 0 || values.seed > 0xffffffff) throw new TraceError('E_SYNTHETIC_SPEC', 'seed must be a whole number 0..2^32-1');
  if (!(values.sparsity >= 0 && values.sparsity <= 1)) throw new TraceError('E_SYNTHETIC_SPEC', 'sparsity must be between 0 and 1');
  if (!(values.sigma > 0)) throw new TraceError('E_SYNTHETIC_SPEC', 'sigma must be > 0');
  if (k === 'relu' && !(values.mean > 0)) throw new TraceError('E_SYNTHETIC_SPEC', 'relu mean must be > 0');
  const shown = PARAMS[k].map((p) => `${p}=${values[p]}`).join(',');
  return { kind: k, seed: values.seed, sparsity: values.sparsity, mean: values.mean, sigma: values.sigma, text: `${k}:${shown}` };
}

export function syntheticDtype(kind: SyntheticKind): TraceDtype {
  return kind === 'gaussian' ? 'int8' : 'uint8';
}

/** murmur3's 32-bit finaliser: a cheap, well-mixed bijection. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO_32 = 4294967296;

export class SyntheticPayload implements PayloadSource {
  readonly description: string;
  constructor(readonly spec: SyntheticSpec) {
    this.description = `synthetic ${spec.text}`;
  }

  bind(_kind: RegionKind, index: number): BoundPayload {
    const { kind, sparsity, mean, sigma } = this.spec;
    const regionKey = mix32((this.spec.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    // uniform in (0,1] from the i-th hash of byte `pos` in this region
    const hash = (pos: number, salt: number): number => {
      const lo = pos >>> 0;
      const hi = Math.floor(pos / TWO_32);
      return mix32((mix32((regionKey ^ hi ^ salt) >>> 0) ^ lo) >>> 0);
    };
    const unit = (h: number): number => (h + 1) / TWO_32;
    let fill: (out: Uint8Array, offset: number) => void;
    switch (kind) {
      case 'zeros':
        fill = (out) => out.fill(0);
        break;
      case 'uniform':
        fill = (out, offset) => {
          for (let i = 0; i < out.length; i++) out[i] = hash(offset + i, 0) & 0xff;
        };
        break;
      case 'relu':
        fill = (out, offset) => {
          for (let i = 0; i < out.length; i++) {
            const p = offset + i;
            if (unit(hash(p, 0)) <= sparsity) {
              out[i] = 0;
              continue;
            }
            const v = Math.ceil(-mean * Math.log(unit(hash(p, 0x5bd1e995))));
            out[i] = v < 1 ? 1 : v > 255 ? 255 : v;
          }
        };
        break;
      case 'gaussian':
        fill = (out, offset) => {
          for (let i = 0; i < out.length; i++) {
            const p = offset + i;
            // Box-Muller, one normal per byte
            const r = Math.sqrt(-2 * Math.log(unit(hash(p, 0))));
            const z = r * Math.cos(2 * Math.PI * unit(hash(p, 0x27d4eb2f)));
            let v = Math.round(this.spec.mean + sigma * z);
            v = v < -128 ? -128 : v > 127 ? 127 : v;
            out[i] = v & 0xff;
          }
        };
        break;
    }
    return { dtype: syntheticDtype(kind), origin: this.description, fill };
  }
}
