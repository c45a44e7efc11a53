/** Container and bench block sizes: their own module, so the CLI can name them without loading the codecs. */
export const DEFAULT_BLOCK_SIZE = 4096;
export const MIN_BLOCK_SIZE = 16;
export const MAX_BLOCK_SIZE = 1 << 24;
