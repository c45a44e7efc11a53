/**
 * shimpack protocol v1: request and response shapes shared by the daemon and
 * every client. protocol/README.md is the normative text; this file mirrors it.
 */

export const PROTOCOL_VERSION = 1;

/** Largest byte address (exclusive) a region may reach: 2^48. */
export const MAX_ADDRESS = 2 ** 48;

/** Largest region `stride` (section 4.2): the SCC tensor header holds it in 16 bits. */
export const MAX_REGION_STRIDE = 65535;
/** Most dimensions a region `shape` may have (section 4.2). */
export const MAX_SHAPE_RANK = 8;

export const OPS = ['hello', 'region', 'write', 'read', 'stats', 'fence', 'flush', 'free'] as const;
export type Op = (typeof OPS)[number];

export const REGION_KINDS = ['weight', 'activation', 'other'] as const;
export type RegionKind = (typeof REGION_KINDS)[number];

export const WIRE_DTYPES = ['uint8', 'int8', 'uint4', 'int4', 'int16', 'bfloat16', 'float16', 'float8_e4m3', 'float8_e5m2'] as const;
export type WireDtype = (typeof WIRE_DTYPES)[number];

export const WIRE_CODECS = ['apack', 'ebpc', 'zvc', 'raw', 'scc', 'fpack'] as const;
export type WireCodec = (typeof WIRE_CODECS)[number];

/**
 * Every error code the daemon answers with. Stable: clients branch on them,
 * metrics label by them. Never rename; add new ones at the end.
 */
export const ERROR_CODES = {
  /** The frame is not a msgpack map or array of maps, or a request lacks an integer id. */
  E_MALFORMED: 'request is not a msgpack map with an integer id',
  /** `op` names no operation of this protocol version. */
  E_UNKNOWN_OP: 'unknown op',
  /** A field is missing, has the wrong type, or is out of its range. */
  E_BAD_FIELD: 'missing or mistyped field',
  /** Any request other than hello before hello succeeded on this connection. */
  E_NO_HELLO: 'hello must come first',
  /** hello asked for a protocol version the daemon does not speak. */
  E_VERSION: 'unsupported protocol version',
  /** hello carried a token that does not match the daemon's configured token. */
  E_AUTH: 'bad or missing token',
  /** A second hello on the same connection. */
  E_ALREADY_HELLO: 'hello already done on this connection',
  /** The frame is larger than maxFrameBytes (it was still parsed to answer each id). */
  E_FRAME_TOO_LARGE: 'frame larger than maxFrameBytes',
  /** A read whose data would not fit in one response frame, or a stats response larger than maxFrameBytes. */
  E_TOO_LARGE: 'response would exceed maxFrameBytes',
  /** A read or write touches bytes outside every region. */
  E_OUT_OF_REGION: 'address range not inside a region',
  /** A write or read spans two or more regions. */
  E_CROSS_REGION: 'access crosses a region boundary',
  /** region: its address range overlaps an existing region. */
  E_REGION_OVERLAP: 'region overlaps an existing region',
  /** region: a region with this name exists already. */
  E_REGION_EXISTS: 'region name already in use',
  /** stats/free: no region has this name. */
  E_NO_SUCH_REGION: 'no region with this name',
  /** region: codec name unknown to this daemon, or codec does not support the dtype. */
  E_UNSUPPORTED: 'codec not available or does not support dtype',
  /** region: the table or histogram does not load (APack, SCC). */
  E_BAD_TABLE: 'table or histogram rejected by the codec',
  /** The daemon is shutting down and takes no new work. */
  E_SHUTTING_DOWN: 'daemon is shutting down',
  /** A bug or a backend failure; the message says what. */
  E_INTERNAL: 'internal error',
  /** write: the daemon holds --max-memory stored bytes; nothing was written. */
  E_MEMORY_FULL: 'stored bytes at the daemon limit',
  /** region: the address space holds --max-regions regions. */
  E_TOO_MANY_REGIONS: 'too many regions in this address space',
  /** The connection has --max-outstanding unanswered requests; this one was not started. */
  E_BUSY: 'too many unanswered requests on this connection',
  /** A lane's worker thread died while the request had block jobs on it; the lane was restarted. */
  E_LANE_FAILED: 'lane worker failed; retry the request',
  /** The memory backend failed or did not answer within --backend-timeout-ms. */
  E_BACKEND: 'memory backend failed or timed out',
  /** A read or write of addresses another memory channel serves (protocol/channel.ts); nothing was done. */
  E_WRONG_CHANNEL: 'address belongs to another channel',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

// ---- requests ----

interface RequestBase {
  /** An integer 0 ... 2^53 - 1 (section 2); anything else is answered E_MALFORMED with id null. */
  readonly id: number;
}
export interface HelloRequest extends RequestBase {
  readonly op: 'hello';
  readonly version: number;
  readonly client?: string;
  readonly token?: string;
  /** Address space to use (section 4.1); default: the token's own. */
  readonly space?: string;
}
export interface RegionRequest extends RequestBase {
  readonly op: 'region';
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly dtype: WireDtype;
  readonly kind: RegionKind;
  readonly codec?: WireCodec;
  readonly blockBytes?: number;
  /** APack: serialised table (the codec's params bytes). */
  readonly table?: Uint8Array;
  /** APack and SCC: non-negative counts, one per value: 256 for 8-bit dtypes, 16 for 4-bit ones. Not with `table`. */
  readonly histogram?: readonly number[];
  /**
   * Distance in values to the same channel of the previous pixel (C for NHWC
   * activations, O for HWIO weights, C·M for HWCM), an integer 1 ... 65535.
   * Required for `scc` (or `shape` + `layout`); accepted, checked and
   * reported by `stats` for every codec, used only by `scc`.
   */
  readonly stride?: number;
  /** The tensor's dimensions (1 ... 8 positive integers), with `layout`: the daemon derives the stride from them. */
  readonly shape?: readonly number[];
  /** The axis order of `shape`: NHWC, NCHW, HWC, CHW, HWIO, HWCM, OIHW, IO or OI (section 4.2). */
  readonly layout?: string;
}
export interface WriteRequest extends RequestBase {
  readonly op: 'write';
  readonly addr: number;
  readonly data: Uint8Array;
}
export interface ReadRequest extends RequestBase {
  readonly op: 'read';
  readonly addr: number;
  readonly len: number;
}
export interface StatsRequest extends RequestBase {
  readonly op: 'stats';
  readonly region?: string;
}
export interface FenceRequest extends RequestBase {
  readonly op: 'fence';
}
/** Like fence, and then every buffered block of the address space (or of `region`) is coded and stored. */
export interface FlushRequest extends RequestBase {
  readonly op: 'flush';
  readonly region?: string;
}
export interface FreeRequest extends RequestBase {
  readonly op: 'free';
  readonly name: string;
}
export type Request = HelloRequest | RegionRequest | WriteRequest | ReadRequest | StatsRequest | FenceRequest | FlushRequest | FreeRequest;

/** A request without its id, as the client builds it. */
export type RequestBody<R extends Request = Request> = R extends Request ? Omit<R, 'id'> : never;

// ---- responses ----

export interface ErrorResponse {
  readonly id: number | null;
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}
export interface HelloResponse {
  readonly id: number;
  readonly ok: true;
  readonly version: number;
  readonly server: 'shimpack';
  readonly lanes: number;
  readonly codecs: string[];
  readonly maxFrameBytes: number;
  readonly blockBytes: number;
  readonly burstBytes: number;
  /** Memory channel this daemon serves (0 of 1 without --channel) and the interleave granule (section 8). */
  readonly channel: number;
  readonly channels: number;
  readonly channelGranule: number;
}
export interface OkResponse {
  readonly id: number;
  readonly ok: true;
}
export interface RegionResponse extends OkResponse {
  /** How the codec parameters were obtained: "table", "histogram", "first-write" (pending until then) or "none". */
  readonly calibration: Calibration;
  readonly blockBytes: number;
}
export interface ReadResponse extends OkResponse {
  readonly data: Uint8Array;
}
export type Calibration = 'none' | 'table' | 'histogram' | 'first-write' | 'pending';

export interface RegionStats {
  readonly name: string;
  readonly kind: RegionKind;
  readonly dtype: WireDtype;
  readonly codec: WireCodec;
  readonly base: number;
  readonly size: number;
  readonly blockBytes: number;
  readonly calibration: Calibration;
  /** The region's stride (given, or derived from shape and layout); absent when it was declared without one. */
  readonly stride?: number;
  /** Bytes clients wrote into / read from this region (request payloads). */
  readonly bytesWritten: number;
  readonly bytesRead: number;
  /** Raw size of the blocks currently held, and their stored (coded) size. */
  readonly rawBytesStored: number;
  readonly storedBytes: number;
  /** rawBytesStored / storedBytes (1 when nothing is stored). */
  readonly ratio: number;
  /** DRAM bursts the traffic so far would take uncompressed, and takes stored. */
  readonly burstsRaw: number;
  readonly burstsStored: number;
  readonly blocksHeld: number;
  /** Blocks currently held raw because coding did not make them smaller. */
  readonly blocksRaw: number;
  readonly writes: number;
  readonly reads: number;
  /** burstsStored split by DRAM direction: fills, raw-held bursts and metadata lines read; write-backs and metadata lines written. */
  readonly dramReadBursts: number;
  readonly dramWriteBursts: number;
  /** Line buffers: block accesses served by a buffered block (hit) or needing a slot (miss). */
  readonly bufferHits: number;
  readonly bufferMisses: number;
  /** Compressed blocks fetched whole into a slot, and buffered blocks coded and written back. */
  readonly fills: number;
  readonly writeBacks: number;
  /** Slots given up to make room (a dirty one is written back first). */
  readonly evictions: number;
  /** Block metadata lookups and updates, those that missed the metadata cache, and the DRAM bursts metadata lines cost. */
  readonly metadataAccesses: number;
  readonly metadataMisses: number;
  readonly metadataBursts: number;
  /** First-order DRAM energy (J) and transfer time (s) of burstsRaw and burstsStored under the daemon's memory model (`memory`), and raw minus stored. */
  readonly dramEnergyRawJ: number;
  readonly dramEnergyStoredJ: number;
  readonly dramEnergySavedJ: number;
  readonly dramTimeRawS: number;
  readonly dramTimeStoredS: number;
  readonly dramTimeSavedS: number;
  /** Values the codec engines encoded and decoded for this region, and the engine-seconds that takes at the codec clock (0 for raw). */
  readonly codecValues: number;
  readonly codecTimeS: number;
  /** With --shadow: what each shadow codec would have stored for this region, from sampled blocks. */
  readonly shadow?: ShadowStats[];
}

/** How a shadow codec's figures stand in a region. */
export type ShadowStatus = 'ok' | 'pending' | 'skipped';

export interface ShadowStats {
  readonly codec: WireCodec;
  /** ok: coding sampled blocks; pending: waiting for its table (calibration); skipped: cannot code this region (see reason). */
  readonly status: ShadowStatus;
  readonly reason?: string;
  /** Sampled blocks held, their raw bytes, and what the codec stores for them (payload, a block that does not shrink counted raw). */
  readonly sampledBlocks: number;
  readonly sampledRawBytes: number;
  readonly sampledStoredBytes: number;
  /** sampledRawBytes / sampledStoredBytes (1 when nothing sampled). */
  readonly ratio: number;
  /** rawBytesStored / ratio: the region's held bytes as this codec would store them (0 when nothing sampled). */
  readonly estimatedStoredBytes: number;
}

/** The energy and time model in use (daemon flags --memory, --memory-pj-per-bit, --memory-gbps, --codec-clock-mhz). */
export interface MemoryModelInfo {
  /** A preset name (hbm2, hbm3, ddr4, ddr5, lpddr4, lpddr5, gddr6) or "custom". */
  readonly name: string;
  readonly pjPerBit: number;
  readonly gbps: number;
  readonly burstBytes: number;
  readonly codecClockMhz: number;
}

export type StatsTotals = Omit<RegionStats, 'name' | 'kind' | 'dtype' | 'codec' | 'base' | 'size' | 'blockBytes' | 'calibration' | 'stride' | 'shadow'> & {
  readonly regions: number;
  /** With --shadow: per codec, summed over the listed regions whose status is ok (`status` ok, no reason). */
  readonly shadow?: ShadowStats[];
};
export interface StatsResponse extends OkResponse {
  readonly regions: RegionStats[];
  readonly totals: StatsTotals;
  readonly memory: MemoryModelInfo;
}
export type SuccessResponse = HelloResponse | OkResponse | RegionResponse | ReadResponse | StatsResponse;
export type Response = SuccessResponse | ErrorResponse;
