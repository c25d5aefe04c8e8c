import { HttpException, Logger } from '@nestjs/common';
import type { AuditSink } from '../audit';
import type { AuditPredictionRecord } from '../contracts';
import type { InferenceCall, ServedModel } from './runtime/served-model';

/**
 * The audit record and the metrics of ONE data-plane call. Steps run through `step`: a failure is
 * recorded (with its HTTP status) and rethrown; `succeeded` resolves only once the success record is
 * durable, so the caller answers its client after the record is safe.
 */
export class CallAudit {
  private served: ServedModel | null = null;

  constructor(
    private readonly sink: AuditSink,
    private readonly logger: Logger,
    private readonly model: string,
    private readonly call: InferenceCall,
    /** The inputs as the log stores them (computed only when a record is made). */
    private readonly inputs: () => unknown,
    /** The inputs came straight from JSON.parse (no NaN, no typed arrays): stored without a copy. */
    private readonly inputsAreJson: boolean,
    private readonly observe: (served: ServedModel | null, outcome: string, started: number) => void,
    /** Told once the call's record is written (answer hooks audit the calls nothing recorded). */
    private readonly recorded: () => void = () => undefined,
    /** When the call arrived (performance.now()): the record's latencyMs counts from here. */
    private readonly started: number = performance.now(),
  ) {}

  /** The version that answers (known once routed). */
  servedBy(model: ServedModel): void {
    this.served = model;
  }

  async step<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const status = e instanceof HttpException ? e.getStatus() : 500;
      this.observe(this.served, String(status), this.started);
      if (this.sink.enabled) {
        const error = e instanceof Error ? e.message.slice(0, 2000) : String(e);
        await this.sink
          .recordPrediction(this.record({ canary: false, status, rows: 0, outputs: null, error }))
          .then(this.recorded)
          .catch((err: unknown) => this.logger.error({ err, requestId: this.call.requestId }, 'could not audit a failed call'));
      }
      throw e;
    }
  }

  async succeeded(canary: boolean, rows: number, outputs: unknown): Promise<void> {
    this.observe(this.served, 'ok', this.started);
    if (this.sink.enabled) {
      await this.sink.recordPrediction(this.record({ canary, status: 200, rows, outputs, error: null }));
      this.recorded();
    }
  }

  /**
   * The record of a call refused before the runtime saw it (unparseable body, bad content type, JSON
   * too deep, unknown model, malformed request): its status and error, no inputs (none were read).
   */
  async refused(status: number, error: string): Promise<void> {
    if (!this.sink.enabled) return;
    await this.sink.recordPrediction(this.record({ canary: false, status, rows: 0, outputs: null, error: error.slice(0, 2000) }));
    this.recorded();
  }

  private record(r: Pick<AuditPredictionRecord, 'canary' | 'status' | 'rows' | 'outputs' | 'error'>): AuditPredictionRecord {
    return {
      requestId: this.call.requestId,
      clientRequestId: this.call.clientRequestId ?? null,
      servedAt: new Date().toISOString(),
      callerKeyId: this.call.callerKeyId ?? null,
      model: this.model,
      version: this.served?.version ?? null,
      route: this.call.protocol,
      kind: this.call.protocol === 'batch' ? 'batch' : 'live',
      latencyMs: performance.now() - this.started,
      ...this.sink.payload(this.inputs(), this.inputsAreJson),
      ...r,
    };
  }
}
