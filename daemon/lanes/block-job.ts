/** What the pipeline hands to a lane: one block's share of a read or write. */
export interface BlockJob {
  readonly kind: 'write' | 'read';
  /** Region id (daemon-unique) and block number inside it. */
  readonly region: number;
  readonly index: number;
  /** Raw bytes of the whole block. */
  readonly blockLen: number;
  /** Bytes touched: [offset, offset + len) inside the block. */
  readonly offset: number;
  readonly len: number;
  /** Write payload (may be a view into the request frame; copied when batched). */
  readonly data?: Uint8Array;
  done(outcome: JobOutcome | Error): void;
  /**
   * Asked when the job is taken for a batch: true if nothing would use its
   * outcome any more. The scheduler then calls dropped() instead of sending
   * it to the lane (and instead of done()).
   */
  moot?(): boolean;
  dropped?(): void;
}

export interface JobOutcome {
  readonly lane: number;
  /** MODE_CODED or MODE_RAW of the block after a write (of the block read, for reads). */
  readonly mode: number;
  /** Stored bytes of the block after a write, header included. */
  readonly storedLen: number;
  /** Stored bytes before this job (header included), -1 if the block was never written. */
  readonly oldLen: number;
  readonly oldMode: number;
  readonly codecSec: number;
  /** Reads: the bytes, a view valid only during the done() call. */
  readonly bytes?: Uint8Array;
}
