/**
 * Cell-level parsing shared by inference and validation. Hot path: no regular expressions and no
 * allocation per cell for numbers, booleans and timestamps.
 */

export const DEFAULT_NULL_TOKENS: readonly string[] = ['', 'NA', 'N/A', 'null', 'NaN'];

/** Fast null-token membership: length check first, then a Set lookup. */
export class NullTokens {
  private readonly set: Set<string>;
  private readonly maxLen: number;
  readonly hasEmpty: boolean;
  constructor(tokens: readonly string[]) {
    this.set = new Set(tokens);
    this.maxLen = tokens.reduce((m, t) => Math.max(m, t.length), 0);
    this.hasEmpty = this.set.has('');
  }
  is(s: string): boolean {
    return s.length <= this.maxLen && this.set.has(s);
  }
  list(): string[] {
    return [...this.set];
  }
}

/**
 * Strict decimal number: optional sign, digits with optional fraction, optional exponent.
 * Rejects whitespace, hex/octal/binary literals, `Infinity` and non-finite results. NaN when invalid.
 */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

export function parseNumber(s: string): number {
  const len = s.length;
  if (len === 0) return NaN;
  // Fast path (Clinger): at most 15 significant digits, no exponent → mantissa / 10^k is
  // correctly rounded because both operands are exact doubles.
  let i = 0;
  let neg = false;
  let c = s.charCodeAt(0);
  if (c === 45 || c === 43) {
    neg = c === 45;
    i = 1;
  }
  let mant = 0;
  let digits = 0;
  let frac = -1; // digits after the point, -1 = no point yet
  for (; i < len; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else break;
  }
  if (i === len && digits > 0 && digits <= 15) {
    const v = frac > 0 ? mant / POW10[frac]! : mant;
    return neg ? -v : v;
  }
  return parseNumberSlow(s);
}

/** Full strict parse: optional sign, digits with optional fraction, optional exponent. */
function parseNumberSlow(s: string): number {
  const len = s.length;
  const c0 = s.charCodeAt(0);
  // first char: digit, sign or '.'
  if (!((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46)) return NaN;
  const cl = s.charCodeAt(len - 1);
  if (!((cl >= 48 && cl <= 57) || cl === 46)) return NaN;
  if (len > 1) {
    const c1 = s.charCodeAt(1) | 0x20; // lower-case letter
    if (c0 === 48 && (c1 === 120 || c1 === 111 || c1 === 98)) return NaN; // 0x 0o 0b
  }
  const n = +s;
  return n - n === 0 ? n : NaN; // finite check (NaN and ±Infinity fail)
}

/** 1 = true, 0 = false, -1 = not a boolean. Accepts true/false in any case. */
export function parseBoolean(s: string): number {
  const len = s.length;
  if (len === 4) {
    if (s === 'true' || s === 'TRUE' || s === 'True') return 1;
    if (s.toLowerCase() === 'true') return 1;
  } else if (len === 5) {
    if (s === 'false' || s === 'FALSE' || s === 'False') return 0;
    if (s.toLowerCase() === 'false') return 0;
  }
  return -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * ISO 8601 timestamp → epoch milliseconds, NaN when invalid. Accepted:
 * `YYYY-MM-DD`, `YYYY-MM-DD[T| ]HH:MM[:SS[.fff…]][Z|±HH:MM|±HHMM|±HH]`. No offset means UTC.
 */
export function parseTimestamp(s: string): number {
  const len = s.length;
  if (len < 10 || len > 40) return NaN;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1) return NaN;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return NaN;
  const day = daysFromCivil(y, mo, d);
  if (len === 10) return day * 86400000;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 32 && sep !== 116) return NaN; // 'T', ' ', 't'
  if (len < 16 || s.charCodeAt(13) !== 58) return NaN;
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return NaN;
  let i = 16;
  let sec = 0;
  let ms = 0;
  if (i < len && s.charCodeAt(i) === 58) {
    sec = digits(s, i + 1, 2);
    if (sec < 0 || sec > 59 || i + 3 > len) return NaN;
    i += 3;
    if (i < len && (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44)) {
      i++;
      let scale = 100;
      const start = i;
      while (i < len) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        ms += c * scale;
        scale /= 10;
        i++;
      }
      if (i === start) return NaN;
      ms = Math.floor(ms);
    }
  }
  let offsetMin = 0;
  if (i < len) {
    const c = s.charCodeAt(i);
    if (c === 90 || c === 122) {
      if (i + 1 !== len) return NaN;
    } else if (c === 43 || c === 45) {
      const rest = len - i - 1;
      let oh: number;
      let om = 0;
      if (rest === 2) oh = digits(s, i + 1, 2);
      else if (rest === 4) {
        oh = digits(s, i + 1, 2);
        om = digits(s, i + 3, 2);
      } else if (rest === 5 && s.charCodeAt(i + 3) === 58) {
        oh = digits(s, i + 1, 2);
        om = digits(s, i + 4, 2);
      } else return NaN;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
      offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
    } else return NaN;
  }
  return day * 86400000 + h * 3600000 + mi * 60000 + sec * 1000 + ms - offsetMin * 60000;
}
