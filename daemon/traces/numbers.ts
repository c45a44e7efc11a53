/**
 * Lenient number parsing for simulator traces: real files print integers as
 * floats (`-3277.0`, `10000256.0`), use `0x`/`0X` hex or plain decimal, and
 * pad with white space. Each parser returns undefined for anything that is
 * not exactly a number of its kind, so the caller can say what it expected.
 */

const DECIMAL_INT = /^[+-]?\d+$/;
const FLOAT_INT = /^[+-]?\d+(?:\.0*)?(?:[eE]\+?\d+)?$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const BARE_HEX = /^[0-9a-fA-F]+$/;

/** A whole number written as an integer or as a float with no fraction (`12`, `-3277.0`, `1e3`). */
export function parseWholeNumber(s: string): number | undefined {
  const t = s.trim();
  if (!FLOAT_INT.test(t)) return undefined;
  const v = Number(t);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** A non-negative address: `0x`-prefixed hex or decimal (also float-formatted). */
export function parseAddress(s: string): number | undefined {
  const t = s.trim();
  if (HEX.test(t)) return parseHexDigits(t.slice(2));
  const v = parseWholeNumber(t);
  return v !== undefined && v >= 0 ? v : undefined;
}

/** Hex with or without `0x` (DRAMsim3 and Ramulator read addresses with std::hex / stoul(,16)). */
export function parseHexAddress(s: string): number | undefined {
  const t = s.trim();
  if (HEX.test(t)) return parseHexDigits(t.slice(2));
  if (BARE_HEX.test(t)) return parseHexDigits(t);
  return undefined;
}

function parseHexDigits(digits: string): number | undefined {
  const trimmed = digits.replace(/^0+(?=.)/, '');
  if (trimmed.length > 13) return undefined; // beyond 2^52: not a safe integer
  return parseInt(trimmed, 16);
}

/** A non-negative decimal integer, no float form (cycle counts, lengths). */
export function parseDecimal(s: string): number | undefined {
  const t = s.trim();
  if (!DECIMAL_INT.test(t)) return undefined;
  const v = Number(t);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
