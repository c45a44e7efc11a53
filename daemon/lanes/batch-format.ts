/**
 * The message format between the main thread and a lane worker. A batch is
 * two transferred buffers, not an array of objects: a Float64Array of fixed
 * job records and one ArrayBuffer holding every payload. Structured-cloning
 * one object per 4 KiB block would cost as much as coding it.
 */

/** Fields of one job record in `LaneBatch.jobs` (Float64: block indexes exceed 2^32). */
export const JOB_KIND = 0; // JOB_WRITE or JOB_READ
export const JOB_REGION = 1;
export const JOB_INDEX = 2;
export const JOB_BLOCK_LEN = 3; // raw bytes of this block (the last block of a region may be short)
export const JOB_OFFSET = 4; // first byte touched inside the block
export const JOB_LEN = 5; // bytes touched
export const JOB_DATA_OFF = 6; // write payload position in `data`
export const JOB_STORED_OFF = 7; // stored block position in `data`, -1 when the backend had none
export const JOB_STORED_LEN = 8;
export const JOB_FIELDS = 9;

export const JOB_WRITE = 0;
export const JOB_READ = 1;

/** Fields of one result record in `LaneResult.results`. */
export const RES_OUT_OFF = 0; // stored block (writes) or read bytes (reads) position in `out`
export const RES_OUT_LEN = 1;
export const RES_MODE = 2; // MODE_CODED, MODE_RAW; RES_ERROR on failure
export const RES_OLD_LEN = 3; // stored bytes the block held before (incl. header), -1 if never written
export const RES_OLD_MODE = 4;
export const RES_CODEC_SEC = 5; // seconds spent in encode/decode for this job
export const RES_FIELDS = 6;

/** First byte of every stored block: how its payload is held. */
export const MODE_CODED = 0;
export const MODE_RAW = 1;
export const RES_ERROR = -1;
/** The stored header is one byte. It is metadata (in hardware: the block index), so accounting counts payload only. */
export const STORED_HEADER_BYTES = 1;

export interface LaneBatch {
  readonly type: 'batch';
  readonly seq: number;
  /** Every batch with seq <= builtAfter was committed to the backend when this batch read it. */
  readonly builtAfter: number;
  /** Job records: a view of its first jobs * JOB_FIELDS values (the buffer may be larger, from a pool). */
  readonly jobs: Float64Array;
  /** Payloads; may be larger than what the jobs use (pooled). */
  readonly data: ArrayBuffer;
  /** Result buffers of committed batches, handed back for the worker to reuse (out, results). */
  readonly spare: ArrayBuffer[];
}

export interface LaneResult {
  readonly seq: number;
  readonly results: Float64Array;
  readonly out: ArrayBuffer;
  /** Messages for jobs whose mode is RES_ERROR, by job number. */
  readonly errors: Record<number, string>;
  /** Wall seconds the worker spent on the whole batch. */
  readonly batchSec: number;
  /** The batch's own buffers, given back for reuse: the worker keeps no view of them. */
  readonly jobs: Float64Array;
  readonly data: ArrayBuffer;
  /** Shadow coding (ModelMessage.shadow): SHADOW_FIELDS values per sampled block and shadow codec. */
  readonly shadow?: Float64Array;
}

/** Fields of one record in `LaneResult.shadow`. */
export const SHADOW_REGION = 0;
export const SHADOW_INDEX = 1;
export const SHADOW_BLOCK_LEN = 2;
export const SHADOW_SLOT = 3; // position of the codec in ShadowSpec.models' slot numbers
export const SHADOW_PAYLOAD = 4; // stored payload: the coded size, or the block length when coding did not shrink it
export const SHADOW_FIELDS = 5;

/** The other codecs a region's sampled blocks are also coded with; nothing they code is stored. */
export interface ShadowSpec {
  /** Blocks whose index is a multiple of this are coded. */
  readonly sample: number;
  readonly models: readonly { readonly slot: number; readonly codec: string; readonly params: Uint8Array }[];
}

/** Binds a region id to a codec model in every lane (sent before any job of that region). */
export interface ModelMessage {
  readonly type: 'model';
  readonly region: number;
  readonly codec: string;
  readonly dtype: string;
  readonly params: Uint8Array;
  /** Shadow codecs of the region (absent: none). */
  readonly shadow?: ShadowSpec;
}

/** Forget a region: its model and any cached blocks. */
export interface DropMessage {
  readonly type: 'drop';
  readonly region: number;
}

export type ControlMessage = ModelMessage | DropMessage;
export type LaneMessage = LaneBatch | ControlMessage;
