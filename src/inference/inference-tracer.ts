/**
 * What Triton's trace extension means in Kiln: per-process trace settings (global, and per model
 * overriding some of them) applied to Open Inference Protocol inference calls (REST and gRPC). A
 * sampled call writes one structured log line `inference trace` with its request id, model,
 * version, protocol, status and Triton's timestamp names in nanoseconds since the epoch:
 *
 *   HTTP_RECV_START / GRPC_WAITREAD_END  the request arrived (REST: from the server's own clock of it)
 *   REQUEST_START                        its body was read and the call entered the runtime
 *   COMPUTE_START / COMPUTE_END          the runtime's inference (validation, queue, batch, model)
 *   REQUEST_END                          the answer was encoded
 *
 * plus, at level TENSORS, its inputs and outputs (name, datatype, shape, the first 64 values).
 *
 * Sampling follows Triton: one trace per `trace_rate` calls of a scope (the global scope, or a model
 * with its own settings), at most `trace_count` traces (-1: no limit; the reported count is what is
 * left). `log_frequency` N > 0 gathers N traces into one log line (`traces: [...]`), and what is
 * gathered is written when the settings change or the process stops; 0 writes each trace as it ends.
 * Settings live in this process like Triton's in its server (each replica is set on its own) and
 * start at level OFF, rate 1000, count -1, log_frequency 0. Changing them is an admin action: one
 * `trace-settings.changed` event per update that changes a setting (before/after the scope's settings).
 */
import { hostname } from 'node:os';
import { BadRequestException, BeforeApplicationShutdown, HttpException, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { writeAdminEvent, type AdminActor } from '../platform/audit-trail/admin-event-outbox';
import { InferenceService } from './inference.service';
import {
  parseTraceSettingsUpdate,
  TRACE_DEFAULTS,
  traceSettingsView,
  type TraceSettings,
  type TraceSettingsUpdate,
  type TraceSettingsView,
} from './protocols/trace-settings';
import type { HostTensor } from './runtime/served-model';

/** Values of each tensor a TENSORS trace shows. */
const MAX_TRACED_VALUES = 64;

interface Scope {
  /** The settings this scope sets itself (a model's; the global scope sets every one). */
  own: TraceSettingsUpdate;
  /** Calls seen since the settings last changed. */
  seen: number;
  /** Traces left; null = the effective count (set at the first sample after a change). */
  left: number | null;
  /** Traces gathered for the next log line (log_frequency > 0). */
  gathered: object[];
}

export type TimestampName = 'HTTP_RECV_START' | 'GRPC_WAITREAD_END' | 'REQUEST_START' | 'COMPUTE_START' | 'COMPUTE_END' | 'REQUEST_END';

/** The clock of the timestamps: ns since the epoch, at sub-ms precision. */
export function nowNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

/** One sampled call; `end` writes it (or gathers it). */
export class InferenceTrace {
  private readonly timestamps: Array<{ name: TimestampName; ns: number }> = [];
  private tensors: { inputs: object[]; outputs: object[] } | null = null;

  constructor(
    readonly id: number,
    private readonly meta: { requestId: string; model: string; protocol: string },
    private readonly withTensors: boolean,
    private readonly finish: (record: object) => void,
  ) {}

  mark(name: TimestampName, ns: number = nowNs()): void {
    this.timestamps.push({ name, ns });
  }

  /** Inputs and outputs, kept only at level TENSORS. */
  private data(inputs: HostTensor[], outputs: HostTensor[]): void {
    if (this.withTensors) this.tensors = { inputs: inputs.map(tracedTensor), outputs: outputs.map(tracedTensor) };
  }

  /**
   * Runs the runtime's part of the call between COMPUTE_START and COMPUTE_END, keeping its tensors
   * (TENSORS) and its version; the status of a refusal is noted for `end`.
   */
  async compute<R extends { model: { version: number }; outputs: HostTensor[] }>(inputs: HostTensor[], run: () => Promise<R>): Promise<R> {
    this.mark('COMPUTE_START');
    try {
      const result = await run();
      this.version = result.model.version;
      this.data(inputs, result.outputs);
      return result;
    } finally {
      this.mark('COMPUTE_END');
    }
  }

  private version: number | null = null;

  /** Writes the trace once the answer is encoded (or refused: `error`). */
  end(error?: unknown): void {
    const status = error === undefined ? 200 : error instanceof HttpException ? error.getStatus() : 500;
    this.finishWith(this.version, status);
  }

  private finishWith(version: number | null, status: number): void {
    this.mark('REQUEST_END');
    this.finish({
      id: this.id,
      request_id: this.meta.requestId,
      model_name: this.meta.model,
      model_version: version,
      protocol: this.meta.protocol,
      status,
      timestamps: this.timestamps,
      ...(this.tensors ?? {}),
    });
  }
}

function tracedTensor(t: HostTensor): object {
  const values = Array.isArray(t.data)
    ? t.data.slice(0, MAX_TRACED_VALUES).map((b) => Buffer.from(b).toString('base64'))
    : Array.from(t.data.subarray(0, MAX_TRACED_VALUES));
  return { name: t.name, datatype: t.dtype, shape: t.shape, data: values, truncated: t.data.length > MAX_TRACED_VALUES };
}

@Injectable()
export class InferenceTracer implements BeforeApplicationShutdown {
  private readonly logger = new Logger('InferenceTrace');
  private readonly global: Scope = { own: {}, seen: 0, left: null, gathered: [] };
  private readonly models = new Map<string, Scope>();
  private nextId = 1;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly inference: InferenceService,
  ) {}

  /** The settings in force for `model` (or the global ones), in Triton's shape. */
  async view(model?: string): Promise<TraceSettingsView> {
    if (model !== undefined) await this.known(model);
    return traceSettingsView(this.effective(model));
  }

  /**
   * Applies an update (a REST body, or gRPC's settings as one), audited; answers the new settings.
   * The model is checked before the body, as Triton does.
   */
  async update(model: string | undefined, body: unknown, actor: AdminActor): Promise<TraceSettingsView> {
    if (model !== undefined) await this.known(model);
    const change = parseTraceSettingsUpdate(body);
    const before = traceSettingsView(this.effective(model));
    const scope = model === undefined ? this.global : (this.models.get(model) ?? { own: {}, seen: 0, left: null, gathered: [] });
    const own = { ...scope.own };
    for (const [k, v] of Object.entries(change) as Array<[keyof TraceSettings, unknown]>) {
      if (v === null) delete own[k];
      else (own as Record<string, unknown>)[k] = v;
    }
    const after = traceSettingsView({ ...this.base(model), ...definedOf(own) });
    // An update that sets nothing new changes nothing: no event, and sampling goes on as it was.
    if (JSON.stringify(definedOf(own)) === JSON.stringify(definedOf(scope.own))) return this.view(model);
    const target = { model: model ?? null, host: hostname(), pid: process.pid };
    await this.db.transaction((m) => writeAdminEvent(m, actor, { action: 'trace-settings.changed', target, before, after }));
    // Sampling restarts under the new settings; what was gathered under the old ones is written now.
    const changed = model === undefined ? [this.global, ...[...this.models.values()]] : [scope];
    for (const s of changed) this.restart(s);
    scope.own = own;
    if (model !== undefined) {
      if (Object.keys(own).length) this.models.set(model, scope);
      else this.models.delete(model);
    }
    return after;
  }

  /** Whether this call is sampled; a trace to mark and end if so. */
  start(model: string, requestId: string, protocol: string): InferenceTrace | null {
    const scope = this.models.get(model) ?? this.global;
    const s = this.effective(this.models.has(model) ? model : undefined);
    if (s.levels.length === 0) return null;
    scope.left ??= s.count;
    if (scope.left === 0) return null;
    scope.seen += 1;
    if (scope.seen % s.rate !== 0) return null;
    if (scope.left > 0) scope.left -= 1;
    const frequency = s.logFrequency;
    return new InferenceTrace(this.nextId++, { requestId, model, protocol }, s.levels.includes('TENSORS'), (record) => {
      if (frequency === 0) {
        this.write({ trace: record }, 'inference trace');
        return;
      }
      scope.gathered.push(record);
      if (scope.gathered.length >= frequency) this.flush(scope);
    });
  }

  /** Also hands every trace line written to `listener` (an embedder or a test reads traces without parsing the log). */
  observe(listener: (line: object) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readonly listeners = new Set<(line: object) => void>();

  private write(line: object, message: string): void {
    this.logger.log(line, message);
    for (const l of this.listeners) l(line);
  }

  beforeApplicationShutdown(): void {
    for (const s of [this.global, ...this.models.values()]) this.flush(s);
  }

  /** A model's settings: its own, the global ones for the rest; the global ones over the defaults. */
  private effective(model: string | undefined): TraceSettings {
    const own = model === undefined ? {} : (this.models.get(model)?.own ?? {});
    const s = { ...this.base(model), ...definedOf(own) };
    // The count reported is what is left to take (Triton's).
    const scope = model === undefined ? this.global : this.models.get(model);
    return scope && scope.left !== null ? { ...s, count: scope.left } : s;
  }

  /** What a scope's unset settings follow: the defaults for the global scope, the global settings for a model. */
  private base(model: string | undefined): TraceSettings {
    return model === undefined ? TRACE_DEFAULTS : { ...TRACE_DEFAULTS, ...definedOf(this.global.own) };
  }

  private restart(scope: Scope): void {
    this.flush(scope);
    scope.seen = 0;
    scope.left = null;
  }

  private flush(scope: Scope): void {
    if (scope.gathered.length === 0) return;
    this.write({ traces: scope.gathered }, 'inference traces');
    scope.gathered = [];
  }

  /** Triton's answer for a model it does not know (a 400). */
  private async known(model: string): Promise<void> {
    if (!(await this.inference.repository.exists(model))) throw new BadRequestException(`Request for unknown model : ${model}`);
  }
}

function definedOf(u: TraceSettingsUpdate): Partial<TraceSettings> {
  return Object.fromEntries(Object.entries(u).filter(([, v]) => v !== null && v !== undefined)) as Partial<TraceSettings>;
}
