/**
 * Is a binary frame one well-formed msgpack value of the protocol's subset?
 * msgpackr alone is too lenient for the protocol's "unparseable frame" rule:
 * it decodes the never-used byte 0xc1 to a marker object and extension types
 * to Dates, Sets, Errors or undefined, none of which is an error for it. This
 * walk decides instead, iteratively (no recursion, so deep nesting cannot
 * overflow the stack) and without allocating:
 *
 *   - exactly one value, nothing after it, nothing cut short;
 *   - no 0xc1 and no extension type (0xc7-0xc9, 0xd4-0xd8);
 *   - every map key is a string;
 *   - containers nested at most MAX_NESTING deep.
 *
 * protocol/README.md section 5 states the same rules.
 */

/** Deepest container nesting accepted (a request needs 3: batch array, request map, histogram array). */
export const MAX_NESTING = 32;

// Items still to read in each open container (maps count keys and values), and whether it is a map.
const remaining = new Float64Array(MAX_NESTING);
const isMap = new Uint8Array(MAX_NESTING);

/** Why the frame is not acceptable msgpack, or undefined when it is. */
export function frameMalformation(b: Uint8Array): string | undefined {
  const n = b.length;
  let p = 0;
  let depth = 0;
  const uint = (k: number): number => {
    // Big-endian unsigned of k bytes at p (k <= 4); NaN when cut short.
    if (p + k > n) return NaN;
    let v = 0;
    for (let i = 0; i < k; i++) v = v * 256 + b[p + i];
    p += k;
    return v;
  };
  do {
    let atKey = false;
    if (depth > 0) {
      const top = depth - 1;
      atKey = isMap[top] === 1 && remaining[top] % 2 === 0;
      remaining[top]--;
    }
    if (p >= n) return 'frame ends inside a value';
    const t = b[p++];
    let skip = 0;
    let children = 0;
    let map = 0;
    const isStr = (t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb;
    if (atKey && !isStr) return `map key at byte ${p - 1} is not a string`;
    if (t <= 0x7f || t >= 0xe0) {
      // positive / negative fixint
    } else if (t <= 0x8f) {
      children = (t & 0x0f) * 2;
      map = 1;
    } else if (t <= 0x9f) children = t & 0x0f;
    else if (t <= 0xbf) skip = t & 0x1f;
    else {
      switch (t) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc1:
          return `byte 0xc1 at ${p - 1} is never used in msgpack`;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          skip = uint(1);
          break;
        case 0xc5:
        case 0xda:
          skip = uint(2);
          break;
        case 0xc6:
        case 0xdb:
          skip = uint(4);
          break;
        case 0xca: // float32
          skip = 4;
          break;
        case 0xcb: // float64
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xdc:
          children = uint(2);
          break;
        case 0xdd:
          children = uint(4);
          break;
        case 0xde:
          children = uint(2) * 2;
          map = 1;
          break;
        case 0xdf:
          children = uint(4) * 2;
          map = 1;
          break;
        default:
          // 0xc7-0xc9, 0xd4-0xd8
          return `extension type (byte 0x${t.toString(16)} at ${p - 1}); the protocol uses none`;
      }
    }
    if (Number.isNaN(skip) || Number.isNaN(children)) return 'frame ends inside a length';
    if (skip > n - p) return 'frame ends inside a value';
    p += skip;
    if (children > 0) {
      if (children > n - p) return 'frame ends inside a container';
      if (depth === MAX_NESTING) return `containers nested deeper than ${MAX_NESTING}`;
      remaining[depth] = children;
      isMap[depth] = map;
      depth++;
    }
    while (depth > 0 && remaining[depth - 1] === 0) depth--;
  } while (depth > 0);
  if (p !== n) return `${n - p} bytes after the value`;
  return undefined;
}
