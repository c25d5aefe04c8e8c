/**
 * Per model version counters of this process, in the shape of Triton's statistics extension
 * (`GET /v2/models[/{name}[/versions/{v}]]/stats`): cumulative counts and nanoseconds since the
 * process started, like Triton's (which also counts per server process).
 *
 * Fed by the runtime: `request` by every answered data-plane call that reached a version (any
 * protocol: record API, /v1, /v2, gRPC, batch chunks), `queued` by the dynamic batcher for each
 * request it ran, `executed` by each model call (one batch) with the time spent building the input
 * tensors, running the model and reading the outputs back. Shadow calls are executions of the shadow
 * version too (they run the model), but no request of it: Triton counts what its scheduler runs the same way.
 */
export interface DurationStat {
  count: number;
  ns: number;
}

/** Time of one model call, split as Triton splits it (nanoseconds). */
export interface ComputeTimes {
  inputNs: number;
  inferNs: number;
  outputNs: number;
}

export interface BatchStat {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** Triton's `$model_stat`. */
export interface ModelStat {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: DurationStat;
    fail: DurationStat;
    queue: DurationStat;
    compute_input: DurationStat;
    compute_infer: DurationStat;
    compute_output: DurationStat;
    cache_hit: DurationStat;
    cache_miss: DurationStat;
  };
  response_stats: Record<string, never>;
  batch_stats: BatchStat[];
  memory_usage: Array<{ type: string; id: number; byte_size: number }>;
}

interface Counters {
  lastInference: number;
  inferences: number;
  executions: number;
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  input: DurationStat;
  infer: DurationStat;
  output: DurationStat;
  batches: Map<number, { input: DurationStat; infer: DurationStat; output: DurationStat }>;
}

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const add = (s: DurationStat, ns: number): void => {
  s.count += 1;
  s.ns += Math.max(0, Math.round(ns));
};
const copy = (s: DurationStat): DurationStat => ({ count: s.count, ns: s.ns });

export class ModelStatistics {
  private readonly byVersion = new Map<string, Counters>();

  private counters(name: string, version: number): Counters {
    const key = `${name}@${version}`;
    let c = this.byVersion.get(key);
    if (!c) {
      c = {
        lastInference: 0,
        inferences: 0,
        executions: 0,
        success: zero(),
        fail: zero(),
        queue: zero(),
        input: zero(),
        infer: zero(),
        output: zero(),
        batches: new Map(),
      };
      this.byVersion.set(key, c);
    }
    return c;
  }

  /** An answered call that reached `version`: success or failure, with its duration from routing to answer. */
  request(name: string, version: number, ok: boolean, ns: number): void {
    const c = this.counters(name, version);
    add(ok ? c.success : c.fail, ns);
    c.lastInference = Date.now();
  }

  /** A request the batcher took off the queue after `ns` of waiting. */
  queued(name: string, version: number, ns: number): void {
    add(this.counters(name, version).queue, ns);
  }

  /** One successful model call of `rows` rows (a batch of one or more requests). */
  executed(name: string, version: number, rows: number, t: ComputeTimes): void {
    const c = this.counters(name, version);
    c.executions += 1;
    c.inferences += rows;
    add(c.input, t.inputNs);
    add(c.infer, t.inferNs);
    add(c.output, t.outputNs);
    let b = c.batches.get(rows);
    if (!b) {
      b = { input: zero(), infer: zero(), output: zero() };
      c.batches.set(rows, b);
    }
    add(b.input, t.inputNs);
    add(b.infer, t.inferNs);
    add(b.output, t.outputNs);
  }

  /** Versions (of `name`, or of every model) that have counters, as [name, version] pairs. */
  versions(name?: string): Array<[string, number]> {
    return [...this.byVersion.keys()]
      .map((k): [string, number] => {
        const at = k.lastIndexOf('@');
        return [k.slice(0, at), Number(k.slice(at + 1))];
      })
      .filter(([n]) => name === undefined || n === name);
  }

  /** Triton's `$model_stat` of one version (all zero when it has not run here). */
  stat(name: string, version: number): ModelStat {
    const c = this.byVersion.get(`${name}@${version}`);
    const batches = c ? [...c.batches].sort((a, b) => a[0] - b[0]) : [];
    return {
      name,
      version: String(version),
      last_inference: c?.lastInference ?? 0,
      inference_count: c?.inferences ?? 0,
      execution_count: c?.executions ?? 0,
      inference_stats: {
        success: copy(c?.success ?? zero()),
        fail: copy(c?.fail ?? zero()),
        queue: copy(c?.queue ?? zero()),
        compute_input: copy(c?.input ?? zero()),
        compute_infer: copy(c?.infer ?? zero()),
        compute_output: copy(c?.output ?? zero()),
        // Kiln has no response cache.
        cache_hit: zero(),
        cache_miss: zero(),
      },
      response_stats: {},
      batch_stats: batches.map(([size, b]) => ({
        batch_size: size,
        compute_input: copy(b.input),
        compute_infer: copy(b.infer),
        compute_output: copy(b.output),
      })),
      memory_usage: [],
    };
  }
}
