/**
 * The Redis key layout (docs/hardening.md, "Redis backend"). P is the URL's
 * prefix, C the channel ("ch0of1" for a daemon without --channel), S the
 * address space (URI-encoded, so it holds no ':' '{' '}').
 *
 *   P:layout                        string  "channels=N granule=G": every daemon on P must agree
 *   P:{P:C}:regions                 hash    region id -> region declaration (codec table, calibration)
 *   P:{P:C}:groups:ID               set     block groups of region ID that may hold blocks
 *   P:C:s=S:{P:C:rID:gK}            hash    blocks 64K ... 64K+63 of region ID:
 *                                             d<index> -> stored bytes, i<index> -> storedLen*256 + mode
 *
 * A block's bytes and its index entry are fields of one hash, so one HSET
 * writes both atomically and no command spans two keys: a region's groups
 * spread over the cluster's slots (a 10 GB weight tensor is not pinned to one
 * node). The hash tags keep each channel's region table and group sets in one
 * slot, and name the slot of each group by channel, region and group only.
 */
export const GROUP_BLOCKS = 64;

export function channelTag(index: number, count: number): string {
  return `ch${index}of${count}`;
}

export function layoutKey(prefix: string): string {
  return `${prefix}:layout`;
}

export function regionsKey(prefix: string, channel: string): string {
  return `${prefix}:{${prefix}:${channel}}:regions`;
}

export function groupsKey(prefix: string, channel: string, region: number): string {
  return `${prefix}:{${prefix}:${channel}}:groups:${region}`;
}

/** Everything of a region's blocks but the group number (kept per region, completed per group). */
export function blocksKeyStem(prefix: string, channel: string, space: string, region: number): string {
  return `${prefix}:${channel}:s=${encodeURIComponent(space)}:{${prefix}:${channel}:r${region}:g`;
}

export function blocksKey(stem: string, group: number): string {
  return `${stem}${group}}`;
}
