/**
 * The request ids of the live predictions this process recorded in the last `ttlMs`: the records that
 * may still be on their way into the prediction log (durable in the queue, not yet written by the
 * audit worker). Feedback waits for such an id's record and for no other id, so a caller cannot hold
 * requests open with ids the server never issued (src/audit/monitoring/feedback.service.ts).
 *
 * Insertion-ordered Map: ids arrive in time order, so the expired ones are always at the front and are
 * dropped as new ones arrive; at most `maxIds` are kept (the oldest go first under a burst).
 */
export class RecentRequestIds {
  private readonly ids = new Map<string, number>();

  constructor(
    /** Applies to ids added from then on (a test lengthens it: a loaded machine is slow to send many calls). */
    public ttlMs: number,
    private readonly maxIds: number,
    private readonly clock: () => number = Date.now,
  ) {}

  add(id: string): void {
    const now = this.clock();
    this.ids.delete(id);
    this.ids.set(id, now + this.ttlMs);
    for (const [oldest, expires] of this.ids) {
      if (expires > now && this.ids.size <= this.maxIds) break;
      this.ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    const expires = this.ids.get(id);
    return expires !== undefined && expires > this.clock();
  }

  get size(): number {
    return this.ids.size;
  }
}
