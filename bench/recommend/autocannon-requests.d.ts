/** autocannon's `requests` option (per-request bodies), which bench/serve's declaration leaves out. */
declare module 'autocannon' {
  interface Options {
    requests?: Array<{ setupRequest?: (req: Record<string, unknown>) => Record<string, unknown> }>;
  }
}
export {};
