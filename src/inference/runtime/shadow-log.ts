/**
 * What shadow versions answered, next to what the live version answered, for comparison. Kept in
 * memory per model (the last `capacity` calls of this replica) and counted in /metrics; the audit
 * domain records shadow calls durably with the rest of the prediction log.
 */
export interface ShadowComparison {
  at: string;
  requestId: string;
  /** The id the client sent with the live call, if any. */
  clientRequestId: string | null;
  model: string;
  liveVersion: number;
  shadowVersion: number;
  rows: number;
  /** Record API: labels (classification) or values (regression); tensor protocols: the first output, flat. */
  live: Array<string | number>;
  shadow: Array<string | number>;
  /** Share of rows where the shadow's label equals the live one (classification), else null. */
  agreement: number | null;
  /** Largest absolute difference between numeric outputs, else null. */
  maxAbsDiff: number | null;
  error: string | null;
}

export const MAX_RECORDED_VALUES = 1000;

export function compareOutputs(
  live: Array<string | number>,
  shadow: Array<string | number>,
): Pick<ShadowComparison, 'agreement' | 'maxAbsDiff'> {
  const n = Math.min(live.length, shadow.length);
  if (n === 0) return { agreement: null, maxAbsDiff: null };
  if (typeof live[0] === 'string') {
    let same = 0;
    for (let i = 0; i < n; i++) if (live[i] === shadow[i]) same++;
    return { agreement: same / n, maxAbsDiff: null };
  }
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(Number(live[i]) - Number(shadow[i])));
  return { agreement: null, maxAbsDiff: max };
}

export class ShadowLog {
  private readonly byModel = new Map<string, ShadowComparison[]>();

  constructor(private readonly capacity = 500) {}

  record(c: ShadowComparison): void {
    const list = this.byModel.get(c.model) ?? [];
    list.push(c);
    if (list.length > this.capacity) list.splice(0, list.length - this.capacity);
    this.byModel.set(c.model, list);
  }

  /** Newest first, with a summary over what is kept. */
  summary(
    model: string,
    limit = 50,
  ): { calls: number; errors: number; meanAgreement: number | null; maxAbsDiff: number | null; recent: ShadowComparison[] } {
    const list = this.byModel.get(model) ?? [];
    const agreements = list.flatMap((c) => (c.agreement === null ? [] : [c.agreement]));
    const diffs = list.flatMap((c) => (c.maxAbsDiff === null ? [] : [c.maxAbsDiff]));
    return {
      calls: list.length,
      errors: list.filter((c) => c.error !== null).length,
      meanAgreement: agreements.length ? agreements.reduce((a, b) => a + b, 0) / agreements.length : null,
      maxAbsDiff: diffs.length ? Math.max(...diffs) : null,
      recent: list.slice(-limit).reverse(),
    };
  }
}
