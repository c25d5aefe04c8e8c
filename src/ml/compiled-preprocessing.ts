/**
 * A model version's preprocessing compiled into one function: records (objects from JSON.parse) →
 * standardised / one-hot values written straight into the model's input array, in one pass that
 * also checks every value. It answers only for records it takes exactly as they are: each record
 * a plain object holding exactly the model's features (no more keys, none absent), numbers finite
 * or null, booleans true/false/null, categories strings or null, timestamps epoch ms, a valid date
 * string or null. For anything else it returns false and writes nothing the caller keeps: the caller
 * then runs the general path (validateRecords + transform), which names each problem. So the reasons
 * and their order are the general path's by construction, and the numbers are the same expression
 * as there (`((x or median) − mean) / std` in doubles, then stored in the array's type).
 *
 * Why generated code (`new Function`) rather than a loop over the feature specs: the feature names
 * become constant property reads (`r["Body Mass (g)"]`), which V8 serves from an inline cache once
 * records share a shape (every object JSON.parse makes with the same keys in the same order does),
 * where a loop reading `r[f.name]` looks each name up in the object's descriptors. Names and values
 * enter the code only as JSON string literals or indices into arrays passed in, never as code.
 * Measured on the record API: preprocessing was ~10 % of the data plane's main thread at 64 clients
 * (bench/engines BENCH_PROFILE=1, docs/performance.md).
 */
/** What the reader needs of a fitted feature: preprocessing.ts's FeatureSpec (not imported: that module imports this one). */
type FeatureSpec =
  | { name: string; type: string; kind: 'numeric'; mean: number; std: number; median: number; missingIndicator: boolean }
  | { name: string; kind: 'boolean'; fill: 0 | 1; missingIndicator: boolean }
  | { name: string; kind: 'categorical'; vocabulary: string[] };

export type CompiledRecordReader = (records: readonly unknown[], out: Float32Array | Float64Array) => boolean;

/** Parses a timestamp cell (string) to epoch ms; NaN when invalid. Same rule as preprocessing's timestampMs. */
type TimestampParser = (v: unknown) => number;

export function compileRecordReader(
  features: readonly FeatureSpec[],
  offsets: readonly number[],
  width: number,
  timestampMs: TimestampParser,
): CompiledRecordReader {
  // constants[3j..3j+2] = mean, std, median of numeric feature j; categories[j] = value → column
  const constants: number[] = [];
  const categories: Array<Map<string, number> | null> = [];
  const body: string[] = [];
  features.forEach((f, j) => {
    const key = `r[${JSON.stringify(f.name)}]`;
    const o = `o + ${offsets[j]!}`;
    categories.push(f.kind === 'categorical' ? new Map(f.vocabulary.map((v, i) => [v, i])) : null);
    if (f.kind === 'numeric') {
      constants.push(f.mean, f.std, f.median);
      const [mean, std, median] = [`c[${3 * j}]`, `c[${3 * j + 1}]`, `c[${3 * j + 2}]`];
      const indicator = (miss: 0 | 1) => (f.missingIndicator ? `out[${o} + 1] = ${miss};` : '');
      // a timestamp may come as a date string; a number must be finite (x - x is NaN for ±Infinity and NaN)
      const read =
        f.type === 'timestamp'
          ? `x = typeof v === 'number' ? v : typeof v === 'string' ? ts(v) : NaN; if (x - x !== 0) return false;`
          : `if (typeof v !== 'number' || v - v !== 0) return false; x = v;`;
      body.push(
        `v = ${key};`,
        `if (v === null) { out[${o}] = (${median} - ${mean}) / ${std}; ${indicator(1)} }`,
        `else { ${read} out[${o}] = (x - ${mean}) / ${std}; ${indicator(0)} }`,
      );
    } else {
      constants.push(0, 0, 0);
      if (f.kind === 'boolean') {
        const indicator = (miss: 0 | 1) => (f.missingIndicator ? `out[${o} + 1] = ${miss};` : '');
        body.push(
          `v = ${key};`,
          `if (v === true) { out[${o}] = 1; ${indicator(0)} }`,
          `else if (v === false) { out[${o}] = 0; ${indicator(0)} }`,
          `else if (v === null) { out[${o}] = ${f.fill}; ${indicator(1)} }`,
          `else return false;`,
        );
      } else {
        const oov = f.vocabulary.length;
        body.push(
          `v = ${key};`,
          `if (typeof v === 'string') { k = m[${j}].get(v); out[${o} + (k === undefined ? ${oov} : k)] = 1; }`,
          `else if (v === null) out[${o} + ${oov}] = 1;`,
          `else return false;`,
        );
      }
    }
  });
  const source = [
    `const n = records.length;`,
    `let r, v, x, k, keys;`,
    `for (let i = 0; i < n; i++) {`,
    `  r = records[i];`,
    `  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;`,
    // exactly the features: as many own keys as features, and each feature read as a value of its type
    // (an absent one reads undefined, or a function from Object.prototype: both refused)
    `  keys = 0; for (const key in r) keys++;`,
    `  if (keys !== ${features.length}) return false;`,
    `  const o = i * ${width};`,
    ...body.map((line) => `  ${line}`),
    `}`,
    `return true;`,
  ].join('\n');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from JSON string literals and numbers only (see above)
  const compiled = new Function('records', 'out', 'c', 'm', 'ts', source) as (
    records: readonly unknown[],
    out: Float32Array | Float64Array,
    c: Float64Array,
    m: Array<Map<string, number> | null>,
    ts: TimestampParser,
  ) => boolean;
  const c = Float64Array.from(constants);
  return (records, out) => compiled(records, out, c, categories, timestampMs);
}
