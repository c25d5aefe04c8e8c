/**
 * The part of autocannon's programmatic API the serving benchmark uses (the package ships no types;
 * declared here rather than adding @types/autocannon, to keep package.json to the one bench script).
 */
declare module 'autocannon' {
  interface Percentiles {
    average: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
  }
  interface Options {
    url: string;
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    connections?: number;
    duration?: number;
    timeout?: number;
  }
  interface Result {
    duration: number;
    latency: Percentiles;
    requests: Percentiles & { sent: number };
    throughput: Percentiles;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
  }
  /** The run: awaitable for the result; emits `response` for every response (responseTime in ms, fractional). */
  interface Instance extends PromiseLike<Result> {
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
  }
  function autocannon(opts: Options): Instance;
  export = autocannon;
}
