/**
 * The one error type of the codec library. `code` is stable and documented
 * (docs/codecs.md); `message` is for humans.
 */
export type CodecErrorCode =
  | 'E_CORRUPT' // a stream or container does not decode (bad bits, lengths, checksum)
  | 'E_TRUNCATED' // input ended before the data it announces
  | 'E_BAD_MAGIC' // not a shimpack container
  | 'E_VERSION' // container version this build does not read
  | 'E_UNSUPPORTED_DTYPE' // codec asked for a dtype it does not implement
  | 'E_BAD_ARGUMENT' // a parameter out of its range (block size, word width, table, ...)
  | 'E_CHECKSUM' // a block decoded, but not to the bytes that were encoded
  | 'E_COUNT_MISMATCH'; // bare EBPC streams: the value count given disagrees with what the streams hold

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}

export const corrupt = (message: string): CodecError => new CodecError('E_CORRUPT', message);
export const truncated = (message: string): CodecError => new CodecError('E_TRUNCATED', message);
export const badArgument = (message: string): CodecError => new CodecError('E_BAD_ARGUMENT', message);
