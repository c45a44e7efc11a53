import fc from 'fast-check';

/**
 * Every fast-check property runs through here, with a seed of its own: each
 * run of the suite tests the same cases, so a failure in CI reproduces on a
 * laptop. On failure the error starts with the seed (fast-check's report
 * after it gives the counterexample and its replay path).
 * SHIMPACK_FC_SEED=N runs every property with seed N instead, to explore
 * beyond the fixed cases; a failure found that way names N the same way.
 */
export function checkProperty<Ts>(property: fc.IProperty<Ts>, params: fc.Parameters<Ts> & { readonly seed: number }): void {
  const seed = seedFor(params.seed);
  try {
    fc.assert(property, { ...params, seed });
  } catch (e) {
    throw withSeed(e, seed);
  }
}

/** checkProperty for async properties (fc.asyncProperty): awaited, same seed rules. */
export async function checkAsyncProperty<Ts>(property: fc.IAsyncProperty<Ts>, params: fc.Parameters<Ts> & { readonly seed: number }): Promise<void> {
  const seed = seedFor(params.seed);
  try {
    await fc.assert(property, { ...params, seed });
  } catch (e) {
    throw withSeed(e, seed);
  }
}

function seedFor(fixed: number): number {
  const env = process.env.SHIMPACK_FC_SEED;
  if (env === undefined || env === '') return fixed;
  const n = Number(env);
  if (!Number.isSafeInteger(n)) throw new Error(`SHIMPACK_FC_SEED must be an integer, got "${env}"`);
  return n;
}

function withSeed(e: unknown, seed: number): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = `fast-check property failed with seed ${seed} (SHIMPACK_FC_SEED=${seed} reruns every property with it): ${err.message}`;
  return err;
}
