import {
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AuditSink } from '../audit';
import { KILN_CONFIG, type KilnConfig } from '../platform/config/kiln-config';
import { ChangeEvents } from '../platform/events';
import { ValidationProblemException } from '../platform/http/validation';
import { MetricsService } from '../platform/metrics/metrics.service';
import { TfRuntime } from '../platform/tfjs/tf-runtime';
import { servingEngines } from '../platform/tfjs/serving-engines';
import { ModelDeployments, ModelRegistry, type RoutingSnapshot } from '../models';
import * as ml from '../ml';
import { DynamicBatcher } from './runtime/dynamic-batcher';
import { InferenceMetrics } from './runtime/inference-metrics';
import { LoadedModel } from './runtime/loaded-model';
import { ModelCache, parseVersionKey, versionKey, type EnginePreference } from './runtime/model-cache';
import { ModelRepository } from './runtime/model-repository';
import { ModelStatistics, type ComputeTimes } from './runtime/model-statistics';
import { RoutingTable } from './runtime/routing-table';
import { resolveVersionSelector } from '../models';
import {
  platformOf,
  type HostTensor,
  type InferenceCall,
  type InferenceResult,
  type ModelSelector,
  type ServedModel,
  type ServingEngine,
} from './runtime/served-model';
import { compareOutputs, MAX_RECORDED_VALUES, ShadowLog } from './runtime/shadow-log';
import { SystemSharedMemory } from './runtime/system-shared-memory';
import { CallAudit } from './call-audit';
import { ExplainInputError, explainRecords, MAX_EXPLAIN_ROWS, type Explanation } from './explain';
import { MAX_ROWS_PER_REQUEST, validateInputs } from './runtime/validate-inputs';
import { signatureView } from './runtime/signatures';
import { recordInputDtype, type RecordInput } from './runtime/record-input';

/** One record's answer on the record API. */
export interface RecordPrediction extends ml.RecordPrediction {
  /** Classification: probability of the predicted label (binary: of the positive class). */
  score?: number;
  /** With `explain`: per-feature integrated-gradients attributions. */
  explanation?: Explanation;
}

export interface RecordPredictionResult {
  model: ServedModel;
  canary: boolean;
  predictions: RecordPrediction[];
}

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

/**
 * The data plane's single entry point: every protocol controller (record API, TF Serving v1, OIP v2)
 * and batch scoring call these, so routing, validation, batching and metrics are the same everywhere.
 * Errors are Nest HttpExceptions (400 naming the field, 404 unknown model/version/alias, 503 queue full
 * or timed out); ErrorFormats renders them as problem+json on /api and `{"error"}` on /v1 and /v2.
 */
@Injectable()
export class InferenceService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Inference');
  private readonly cache: ModelCache;
  private readonly routing: RoutingTable;
  private readonly metrics: InferenceMetrics;
  private readonly batchers = new WeakMap<LoadedModel, DynamicBatcher>();
  /** Batchers of model-kind APIs (e.g. recommendations), per loaded version and kind. */
  private readonly kindBatchers = new WeakMap<LoadedModel, Map<string, DynamicBatcher>>();
  /** Batchers of a graph model's named signatures (TF Serving `signature_name`), per loaded version. */
  private readonly signatureBatchers = new WeakMap<LoadedModel, Map<string, DynamicBatcher>>();
  private readonly preprocessors = new WeakMap<LoadedModel, ml.Preprocessor>();
  readonly shadows = new ShadowLog();
  /** Per-version counters of this process (the OIP statistics extension). */
  private readonly stats = new ModelStatistics();
  /** The OIP model repository and statistics extensions on this runtime. */
  readonly repository: ModelRepository;
  /** Triton's system shared memory regions registered with this process. */
  readonly sharedMemory = new SystemSharedMemory();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  /** A change event arrived while a refresh was reading: read again once it is done (it may have read too early). */
  private refreshAgain = false;
  private unsubscribe: (() => void) | null = null;

  constructor(
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly registry: ModelRegistry,
    private readonly deployments: ModelDeployments,
    private readonly audit: AuditSink,
    metrics: MetricsService,
    private readonly events: ChangeEvents,
  ) {
    this.cache = new ModelCache((name, version, engine) => this.load(name, version, engine), {
      maxModels: config.inference.maxModels,
      maxBytes: config.inference.maxModelBytes,
    });
    this.routing = new RoutingTable(this.cache);
    this.metrics = new InferenceMetrics(metrics.registry, () => this.cache.size);
    this.repository = new ModelRepository(registry, this.cache, this.routing, this.stats, () => this.refresh());
  }

  /** Loads and warms every version an alias or a deployment references, then follows changes. */
  async onApplicationBootstrap(): Promise<void> {
    await TfRuntime.init(this.config.tfBackend);
    const engines = servingEngines();
    this.logger.log(
      { tfjs: engines.tfjs, onnxruntime: engines.onnxruntime },
      `serving engines: TF.js on ${engines.tfjs?.provider ?? 'none'}, ONNX Runtime ${engines.onnxruntime.version} (cpu)`,
    );
    await this.refresh().catch((err: unknown) => this.logger.error({ err }, 'initial routing refresh failed'));
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.logger.warn({ err }, 'routing refresh failed'));
    }, this.config.inference.routingRefreshMs);
    this.timer.unref();
    // The poll above is the safety net; a change event (an alias moved, a deployment or serving settings
    // changed, on any replica or app) refreshes at once.
    this.unsubscribe = this.events.subscribe((event) => {
      if (event.topic === 'routing' || event.topic === 'resync') this.refreshOnEvent();
    });
  }

  private refreshOnEvent(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refresh().catch((err: unknown) => this.logger.warn({ err }, 'routing refresh failed'));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.cache.clear();
    void this.sharedMemory.close();
  }

  /** Reads the registry's routing snapshot and applies it when it changed (coalesced). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const snapshot: RoutingSnapshot = await this.deployments.routingSnapshot();
        if (snapshot.fingerprint === this.routing.fingerprint) return;
        await this.routing.apply(snapshot);
        for (const f of this.routing.loadFailures)
          this.logger.error({ version: f.key, error: f.error }, 'could not load a routed model version');
        for (const m of this.cache.loaded()) {
          const settings = this.routing.serving(m.served.name);
          this.batchers.get(m)?.configure(settings);
          for (const b of this.kindBatchers.get(m)?.values() ?? []) b.configure(settings);
          for (const b of this.signatureBatchers.get(m)?.values() ?? []) b.configure(settings);
        }
      } finally {
        this.refreshing = null;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refreshOnEvent();
        }
      }
    })();
    return this.refreshing;
  }

  /** True when every version referenced by an alias or a deployment is loaded and warm. */
  serverReady(): boolean {
    return this.routing.ready;
  }

  /** Metadata of the version the selector resolves to. */
  async describe(name: string, selector: ModelSelector): Promise<ServedModel> {
    const { model } = await this.resolve(name, selector, null);
    model.release();
    return model.served;
  }

  /** True when the selected version is loaded and warm (an explicit version is loaded on demand). */
  async isReady(name: string, selector: ModelSelector): Promise<boolean> {
    const { model } = await this.resolve(name, selector, null);
    model.release();
    return !model.unloaded;
  }

  /**
   * Whether a call naming no version or alias is answered now from a loaded version (KServe V1's model
   * readiness): the model has a deployment or a `production` alias (routed versions are loaded before
   * they are routed to), or a version loaded through the model repository API.
   */
  servesByDefault(name: string): boolean {
    return this.routing.hasDefaultRoute(name) || this.repository.heldRoute(name) !== undefined;
  }

  /** Loading state of the selected version, or of every version the model's aliases and deployment reference. */
  async versionStatus(
    name: string,
    selector: ModelSelector,
  ): Promise<Array<{ version: number; state: VersionState; error: string | null }>> {
    if (selector.version !== undefined || selector.alias !== undefined) {
      const { model } = await this.resolve(name, selector, null);
      model.release();
      return [{ version: model.served.version, state: 'AVAILABLE', error: null }];
    }
    await this.registry.getModel(name);
    const failures = new Map(this.routing.loadFailures.map((f) => [f.key, f.error]));
    // Versions that failed to load are not routed to, but they are what the registry asks for: report them.
    const failed = [...failures].map(([k, error]) => ({ ...parseVersionKey(k), error })).filter((k) => k.name === name);
    const versions = [...new Set([...this.routing.referencedVersions(name), ...failed.map((k) => k.version)])].sort((a, b) => a - b);
    const engine = this.routing.engine(name);
    return versions.map((version) => {
      const key = versionKey(name, version, engine);
      // A failure on another engine (a refused engine switch) is reported too: the version answers on the old one.
      const error = failures.get(key) ?? failed.find((k) => k.version === version)?.error ?? null;
      const state: VersionState = this.cache.isLoaded(key) ? 'AVAILABLE' : this.cache.isLoading(key) ? 'LOADING' : error ? 'END' : 'START';
      return { version, state, error };
    });
  }

  /**
   * Runs input tensors through the selected version: validated against its signature, batched with
   * concurrent calls. Outputs in signature order, optionally filtered by name.
   */
  async infer(
    name: string,
    selector: ModelSelector,
    inputs: HostTensor[],
    call: InferenceCall,
    opts: {
      outputs?: string[];
      signature?: string;
      /** Places the outputs before the call counts as answered (shared memory): its refusal is the call's, audited. */
      deliver?: (outputs: HostTensor[]) => Promise<void>;
      /**
       * Also explain each row (KServe V1's `:explain`): integrated gradients per source feature, for a
       * Kiln-trained layers model on the tfjs engine fed its preprocessed input (what /v1 :predict takes);
       * anything else is a 400 before the model runs. `field` names the rows in errors (`instances`).
       */
      explain?: { field: string };
    } = {},
  ): Promise<InferenceResult & { explanations?: Explanation[] }> {
    const audit = this.startAudit(name, call, () => inputs.map(tensorForAudit), false);
    const { model, canary } = await audit.step(() => this.resolve(name, selector, call));
    audit.servedBy(model.served);
    try {
      // A named signature (TF Serving's signature_name) is the model seen through that signature's tensors.
      const view = await audit.step(() => signatureView(model.served, opts.signature));
      const named = view.inputs === model.served.inputs ? undefined : opts.signature;
      const { inputs: ordered, rows, batchable } = await audit.step(() => validateInputs(view, inputs));
      const explain = opts.explain;
      if (explain) await audit.step(() => this.explainable(model, rows, explain.field));
      const wanted = opts.outputs ? await audit.step(() => this.outputIndices(view, opts.outputs!)) : null;
      const outputs = await audit.step(() => this.batcher(model, named).submit(ordered, rows, batchable));
      const explanations = explain
        ? await audit.step(() => this.explanations(model, ordered[0]!.data as RecordInput, rows, explain.field))
        : undefined;
      if (named === undefined)
        this.shadow(name, model, call, rows, firstValues(outputs), inputs.map(tensorForAudit), async (shadow) => {
          const { inputs: same, rows: n, batchable: b } = validateInputs(shadow.served, ordered);
          const out = await this.batcher(shadow).submit(same, n, b);
          return { values: firstValues(out), outputs: out.map(tensorForAudit) };
        });
      const result = {
        model: view,
        outputs: wanted ? wanted.map((i) => outputs[i]!) : outputs,
        canary,
        ...(explanations && { explanations }),
      };
      if (opts.deliver) await audit.step(() => opts.deliver!(result.outputs));
      await audit.succeeded(canary, rows, outputs.map(tensorForAudit));
      return result;
    } finally {
      model.release();
    }
  }

  /**
   * Named-feature records through the saved preprocessing, the model and the target decoding; with
   * `explain`, integrated-gradients attributions per source feature (layers models, ≤ MAX_EXPLAIN_ROWS records).
   */
  async predictRecords(
    name: string,
    selector: ModelSelector,
    records: unknown[],
    call: InferenceCall,
    opts: { explain?: boolean } = {},
  ): Promise<RecordPredictionResult> {
    // Record API bodies come from JSON.parse; /v1 classify/regress examples may carry NaN tokens.
    const audit = this.startAudit(name, call, () => (call.protocol === 'batch' ? null : records), call.protocol === 'record');
    await audit.step(() => {
      if (!Array.isArray(records) || records.length === 0)
        throw new ValidationProblemException([{ field: 'records', reason: 'must be a non-empty array of objects' }]);
      if (opts.explain && records.length > MAX_EXPLAIN_ROWS) {
        throw new ValidationProblemException([
          {
            field: 'explain',
            reason: `explanations are computed for at most ${MAX_EXPLAIN_ROWS} records per request; this one has ${records.length}`,
          },
        ]);
      }
      if (records.length > MAX_ROWS_PER_REQUEST) {
        throw new ValidationProblemException([
          { field: 'records', reason: `at most ${MAX_ROWS_PER_REQUEST} records per request (use batch predictions for more)` },
        ]);
      }
    });
    const { model, canary } = await audit.step(() => this.resolve(name, selector, call));
    audit.servedBy(model.served);
    try {
      const { x, predictions } = await audit.step(() => this.scoreRecords(model, records));
      if (call.protocol !== 'batch') {
        this.shadow(name, model, call, records.length, liveValues(predictions), records, async (shadow) => {
          const p = (await this.scoreRecords(shadow, records)).predictions;
          return { values: liveValues(p), outputs: p };
        });
      }
      if (opts.explain) {
        const explanations = await audit.step(() => this.explanations(model, x, records.length, 'explain.x'));
        predictions.forEach((p, i) => (p.explanation = explanations[i]));
      }
      await audit.succeeded(
        canary,
        records.length,
        call.protocol === 'batch' ? batchSummary(predictions) : predictions.map(withoutExplanation),
      );
      return { model: model.served, canary, predictions };
    } finally {
      model.release();
    }
  }

  /**
   * A model-kind API (recommendations: src/inference/recommend) through the same routing, aliases,
   * canary/shadow, audit and metrics as predict: `validate` runs before routing, `run` answers on the
   * routed version (and, off the response path, on the shadow version). Audited exactly once.
   */
  async serveKind<R>(
    name: string,
    selector: ModelSelector,
    call: InferenceCall,
    request: unknown,
    handler: {
      validate?(): void;
      run(model: LoadedModel): Promise<{ result: R; rows: number; outputs: unknown; values: Array<string | number> }>;
    },
  ): Promise<{ model: ServedModel; canary: boolean; result: R }> {
    const audit = this.startAudit(name, call, () => request, true);
    if (handler.validate) await audit.step(() => handler.validate!());
    const { model, canary } = await audit.step(() => this.resolve(name, selector, call));
    audit.servedBy(model.served);
    try {
      const out = await audit.step(() => handler.run(model));
      // batch work (batch recommendations) is not mirrored to a shadow, as for batch predictions
      if (call.protocol !== 'batch')
        this.shadow(name, model, call, out.rows, out.values, request, async (shadow) => {
          const o = await handler.run(shadow);
          return { values: o.values, outputs: o.outputs };
        });
      await audit.succeeded(canary, out.rows, out.outputs);
      return { model: model.served, canary, result: out.result };
    } finally {
      model.release();
    }
  }

  /** A dynamic batcher of a model-kind API on a loaded version, with the model's batching settings. */
  kindBatcher(model: LoadedModel, kind: string, execute: (inputs: HostTensor[]) => Promise<HostTensor[]>): DynamicBatcher {
    let byKind = this.kindBatchers.get(model);
    if (!byKind) this.kindBatchers.set(model, (byKind = new Map()));
    let b = byKind.get(kind);
    if (!b) {
      b = new DynamicBatcher(execute, this.routing.serving(model.served.name), this.metrics.observerFor(model.served.name));
      byKind.set(kind, b);
    }
    return b;
  }

  /**
   * Refuses with a 400 what the explanation engine cannot explain, before the model runs: more than
   * MAX_EXPLAIN_ROWS rows (naming `field`), a model without named source features (imported models,
   * recommenders) or one served without gradients (see `layersOf`).
   */
  private explainable(model: LoadedModel, rows: number, field: string): void {
    const { served } = model;
    if (rows > MAX_EXPLAIN_ROWS) {
      throw new ValidationProblemException([
        { field, reason: `explanations are computed for at most ${MAX_EXPLAIN_ROWS} rows per request; this one has ${rows}` },
      ]);
    }
    if (!served.preprocessing || !served.target || served.task === 'recommendation') {
      throw new ValidationProblemException([
        {
          field: 'explain',
          reason:
            `model ${served.name} version ${served.version} has no named source features (an imported model or a recommender); ` +
            'explanations need a Kiln-trained layers model on the tfjs engine',
        },
      ]);
    }
    this.layersOf(model);
  }

  /** The TF.js layers model that gradients are taken through; a 400 for ONNX Runtime and graph models. */
  private layersOf(model: LoadedModel): tfl.LayersModel {
    const layers = model.layersModel;
    if (layers) return layers;
    const { served } = model;
    const what = served.engine === 'onnxruntime' ? 'served by ONNX Runtime, which computes no gradients' : 'a graph model';
    throw new ValidationProblemException([
      {
        field: 'explain',
        reason:
          `model ${served.name} version ${served.version} is ${what}; ` +
          'explanations need a Kiln-trained layers model on the tfjs engine',
      },
    ]);
  }

  /**
   * Integrated-gradients attributions per source feature of `rows` preprocessed rows (synchronous TF.js
   * work: bounded by MAX_EXPLAIN_ROWS). `field` names the rows in an input error (a non-finite value).
   */
  private explanations(model: LoadedModel, x: RecordInput, rows: number, field: string): Explanation[] {
    const { served } = model;
    const layers = this.layersOf(model);
    try {
      // a layers model's input is float32 (other element types are ONNX imports')
      const x32 = x instanceof Float32Array ? x : Float32Array.from(x);
      return explainRecords(layers, served.preprocessing!, served.target!, x32, rows);
    } catch (e) {
      if (!(e instanceof ExplainInputError)) throw e;
      // `x` is the caller's rows; other fields are the engine's options
      throw new ValidationProblemException([{ field: e.field === 'x' ? field : `explain.${e.field}`, reason: e.reason }]);
    }
  }

  private async scoreRecords(model: LoadedModel, records: unknown[]): Promise<{ x: RecordInput; predictions: RecordPrediction[] }> {
    const { served } = model;
    if (served.task === 'recommendation') {
      throw new BadRequestException(
        `model ${served.name} version ${served.version} is a recommender: ` +
          `ask it through /api/models/${served.name}/recommend or /similar-items`,
      );
    }
    if (!served.preprocessing || !served.target) {
      throw new BadRequestException(
        `model ${served.name} version ${served.version} was imported with a tensor signature and has no named features; ` +
          `call it through /v2 or /v1`,
      );
    }
    const pre = this.preprocessor(model);
    const input = served.inputs[0]!;
    let x: RecordInput;
    try {
      // the input's element type decides the cast (imported ONNX graphs may take float64, int32 or int64)
      x = pre.transform(records, { dtype: recordInputDtype(served, input.dtype) });
    } catch (e) {
      if (!(e instanceof ml.RecordValidationError)) throw e;
      throw new ValidationProblemException(
        e.issues.map((i) => ({ field: i.feature === null ? `records.${i.index}` : `records.${i.index}.${i.feature}`, reason: i.reason })),
      );
    }
    const [y] = await this.batcher(model).submit(
      [{ name: input.name, dtype: input.dtype, shape: [records.length, pre.width], data: x }],
      records.length,
    );
    const predictions: RecordPrediction[] = ml.decodeOutputs(served.target, y!.data as Float32Array | Float64Array, records.length);
    for (const p of predictions) {
      if (!p.probabilities || p.label === undefined) continue;
      p.score =
        served.task === 'binary' ? p.probabilities[served.target.positiveClass ?? served.target.classes![1]!] : p.probabilities[p.label];
    }
    return { x, predictions };
  }

  private outputIndices(served: ServedModel, names: string[]): number[] {
    return names.map((n) => {
      const i = served.outputs.findIndex((o) => o.name === n);
      if (i < 0)
        throw new BadRequestException(
          `output '${n}' is not an output of model ${served.name} version ${served.version} ` +
            `(outputs: ${served.outputs.map((o) => o.name).join(', ')})`,
        );
      return i;
    });
  }

  /**
   * Which loaded version answers: an explicit version (loaded on demand, LRU), an alias, or the
   * model's default route (deployment weights, sticky on the client's request id, else `production`).
   * The returned model is acquired: the caller releases it.
   */
  private async resolve(
    name: string,
    selector: ModelSelector,
    call: InferenceCall | null,
  ): Promise<{ model: LoadedModel; canary: boolean }> {
    const aliasVersion = (alias: string) => this.routing.alias(name, alias);
    if (selector.version === undefined && selector.alias !== undefined && aliasVersion(selector.alias) === undefined) {
      // Maybe a move this replica has not polled yet; still none: 404 for an unknown model before the alias.
      await this.refresh();
      if (aliasVersion(selector.alias) === undefined) await this.registry.getModel(name);
    }
    const version = resolveVersionSelector(name, selector, aliasVersion);
    const engine = this.routing.engine(name);
    if (selector.version !== undefined) return { model: await this.cache.acquire(name, selector.version, engine), canary: false };
    let route = version !== undefined ? { version, canary: false } : this.routing.route(name, call?.clientRequestId ?? null);
    if (!route) {
      // Maybe a change this replica has not polled yet.
      await this.refresh();
      // Neither: a version loaded through the model repository API (POST /v2/repository/models/{name}/load).
      route = this.routing.route(name, call?.clientRequestId ?? null) ?? this.repository.heldRoute(name);
    }
    if (!route) {
      await this.registry.getModel(name); // 404 for an unknown model
      throw new NotFoundException(
        `model ${name} has no production alias and no deployment and is not loaded; ask for a version or an alias`,
      );
    }
    const model =
      this.cache.acquireLoaded(versionKey(name, route.version, engine)) ?? (await this.cache.acquire(name, route.version, engine));
    return { model, canary: route.canary };
  }

  /**
   * Loads a version on the engine the model's setting asks for: imported ONNX graphs always on ONNX
   * Runtime; other versions on TF.js (`tfjs`), on their ONNX graph (`onnxruntime`; an error for an
   * imported TF.js model, which has none), or on the graph when there is one (`auto`).
   */
  private async load(name: string, version: number, preference: EnginePreference): Promise<LoadedModel> {
    const { model, version: v } = await this.registry.getVersion(name, version);
    if (v.status !== 'active') throw new NotFoundException(`version ${version} of model ${name} is ${v.status} and not servable`);
    const sig = v.signature;
    const target = v.target;
    const graph = v.format === 'onnx' || preference !== 'tfjs' ? await this.registry.loadOnnxGraph(v) : null;
    if (!graph && preference === 'onnxruntime')
      throw new Error(
        `version ${version} of model ${name} is an imported TF.js model and has no ONNX graph; serve it with engine tfjs or auto`,
      );
    const engine: ServingEngine = graph ? 'onnxruntime' : 'tfjs';
    const served: ServedModel = {
      name: model.name,
      version: v.version,
      versionId: v.id,
      source: v.source,
      format: v.format,
      engine,
      platform: platformOf(v.format, engine),
      task: (v.task as ServedModel['task']) ?? null,
      inputs: sig.inputs,
      outputs: sig.outputs,
      ...(sig.signatures ? { signatures: sig.signatures } : {}),
      features: sig.features ?? null,
      preprocessing: v.preprocessing ?? null,
      target,
    };
    const started = performance.now();
    // An imported graph is served from its own memory-capped process; Kiln's own exports in this one.
    const loaded = graph
      ? await LoadedModel.loadOnnx(served, graph, {
          intraOpThreads: this.config.inference.onnxThreads,
          ...(v.format === 'onnx' ? { isolateMemoryMb: this.config.inference.onnxServingMaxMemoryMb } : {}),
        })
      : await LoadedModel.load(served, await this.registry.loadBytes(v));
    await loaded.warmUp();
    const isolation = loaded.onnxIsolation;
    this.logger.log(
      { model: name, version, engine, ...(isolation ? { isolation } : {}), ms: Math.round(performance.now() - started) },
      'model version loaded and warm',
    );
    if (isolation === 'none')
      this.logger.warn(
        { model: name, version },
        'neither prlimit nor /bin/sh is on this machine: the imported graph runs in its own process without a memory cap ' +
          '(KILN_ONNX_SERVING_MAX_MEMORY_MB is not applied). Install util-linux to cap it.',
      );
    return loaded;
  }

  private batcher(model: LoadedModel, signature?: string): DynamicBatcher {
    if (signature !== undefined) return this.signatureBatcher(model, signature);
    let b = this.batchers.get(model);
    if (!b) this.batchers.set(model, (b = this.countedBatcher(model)));
    return b;
  }

  /** Named signatures batch separately (other tensors), with the model's serving settings. */
  private signatureBatcher(model: LoadedModel, signature: string): DynamicBatcher {
    let bySignature = this.signatureBatchers.get(model);
    if (!bySignature) this.signatureBatchers.set(model, (bySignature = new Map()));
    let b = bySignature.get(signature);
    if (!b) bySignature.set(signature, (b = this.countedBatcher(model, signature)));
    return b;
  }

  /** A batcher over `model.run` (for one signature) that feeds the metrics and the OIP statistics. */
  private countedBatcher(model: LoadedModel, signature?: string): DynamicBatcher {
    const { name, version } = model.served;
    const observer = this.metrics.observerFor(name);
    return new DynamicBatcher(
      async (inputs) => {
        const times: ComputeTimes = { inputNs: 0, inferNs: 0, outputNs: 0 };
        const outputs = await model.run(inputs, signature, times);
        this.stats.executed(name, version, inputs[0]?.shape[0] ?? 1, times);
        return outputs;
      },
      this.routing.serving(name),
      {
        ...observer,
        queued: (seconds) => {
          observer.queued(seconds);
          this.stats.queued(name, version, seconds * 1e9);
        },
      },
    );
  }

  private preprocessor(model: LoadedModel): ml.Preprocessor {
    let p = this.preprocessors.get(model);
    if (!p) {
      p = ml.Preprocessor.fromJSON(model.served.preprocessing);
      this.preprocessors.set(model, p);
    }
    return p;
  }

  private startAudit(name: string, call: InferenceCall, inputs: () => unknown, inputsAreJson: boolean): CallAudit {
    return new CallAudit(
      this.audit,
      this.logger,
      name,
      call,
      inputs,
      inputsAreJson,
      (served, outcome, started) => this.observe(name, served, call, outcome, started),
      ANSWER_AUDITED_PROTOCOLS.has(call.protocol) ? () => this.noteAudited(call.requestId) : undefined,
    );
  }

  /**
   * Audits a record API, /v1, /v2 or gRPC inference call that was answered without reaching the
   * runtime's audit (refused by the body parser, the content type, the JSON depth guard, auth, the
   * codec, or an unknown model), unless the runtime recorded it: each answered call is audited
   * exactly once, with its latency (`elapsedMs` since the call arrived), and counted in
   * kiln_inference_requests_total with its status as the outcome. Resolves once the record is
   * durable (the answer waits for it, as for every other record). Returns whether a record was written here.
   */
  async auditIfUnrecorded(name: string, call: InferenceCall, status: number, error: string, elapsedMs = 0): Promise<boolean> {
    if (this.auditedCalls.delete(call.requestId)) return false;
    this.metrics.requests.inc({ model: this.modelLabel(name), version: 'none', protocol: call.protocol, outcome: String(status) });
    const started = performance.now() - Math.max(0, elapsedMs);
    await new CallAudit(
      this.audit,
      this.logger,
      name,
      call,
      () => null,
      true,
      () => undefined,
      undefined,
      started,
    ).refused(status, error);
    return this.audit.enabled;
  }

  /**
   * The metrics label of a model name from a request: itself when this process routes or holds the
   * model, else `(unknown)`, so made-up names in URLs cannot grow the metrics without bound.
   */
  private modelLabel(name: string): string {
    const known = this.routing.referencedVersions(name).length > 0 || this.repository.heldRoute(name) !== undefined;
    return known ? name : UNKNOWN_MODEL_LABEL;
  }

  /** Forgets that the runtime audited a call (its answer succeeded: nothing left to record). */
  forgetAudited(requestId: string): void {
    this.auditedCalls.delete(requestId);
  }

  /** Request ids the runtime audited, until the call's answer takes them (bounded: a call whose answer never came is dropped). */
  private readonly auditedCalls = new Set<string>();

  private noteAudited(requestId: string): void {
    this.auditedCalls.add(requestId);
    if (this.auditedCalls.size > MAX_PENDING_AUDITED) this.auditedCalls.delete(this.auditedCalls.values().next().value!);
  }

  /** Sends a copy of the request to the model's shadow version off the response path; records both answers. */
  private shadow(
    name: string,
    live: LoadedModel,
    call: InferenceCall,
    rows: number,
    liveOut: Array<string | number>,
    inputs: unknown,
    run: (shadow: LoadedModel) => Promise<{ values: Array<string | number>; outputs: unknown }>,
  ): void {
    const version = this.routing.shadow(name);
    if (version === null || version === live.served.version) return;
    setImmediate(() => {
      const shadow = this.cache.acquireLoaded(versionKey(name, version, this.routing.engine(name)));
      if (!shadow) return;
      const started = performance.now();
      const ids = { requestId: call.requestId, clientRequestId: call.clientRequestId ?? null };
      const base = { at: new Date().toISOString(), ...ids, model: name, liveVersion: live.served.version, shadowVersion: version, rows };
      const auditShadow = (status: number, outputs: unknown, error: string | null) =>
        this.audit
          .recordPrediction({
            requestId: `${call.requestId}/shadow`,
            clientRequestId: call.clientRequestId ?? null,
            servedAt: base.at,
            callerKeyId: call.callerKeyId ?? null,
            model: name,
            version,
            route: call.protocol,
            kind: 'shadow',
            canary: false,
            status,
            latencyMs: performance.now() - started,
            rows,
            ...this.audit.payload(inputs),
            outputs,
            error,
          })
          .catch((err: unknown) => this.logger.warn({ err, requestId: call.requestId }, 'could not audit a shadow call'));
      run(shadow)
        .then(
          async (out) => {
            const cmp = compareOutputs(liveOut, out.values);
            this.shadows.record({
              ...base,
              live: liveOut.slice(0, MAX_RECORDED_VALUES),
              shadow: out.values.slice(0, MAX_RECORDED_VALUES),
              ...cmp,
              error: null,
            });
            this.metrics.shadow.inc({
              model: name,
              outcome: (cmp.agreement ?? 1) === 1 && (cmp.maxAbsDiff ?? 0) === 0 ? 'agree' : 'differ',
            });
            await auditShadow(200, out.outputs, null);
          },
          async (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            this.shadows.record({ ...base, live: [], shadow: [], agreement: null, maxAbsDiff: null, error: message });
            this.metrics.shadow.inc({ model: name, outcome: 'error' });
            await auditShadow(e instanceof HttpException ? e.getStatus() : 500, null, message);
          },
        )
        .finally(() => shadow.release());
    });
  }

  private observe(name: string, served: ServedModel | null, call: InferenceCall, outcome: string, started: number): void {
    if (served) this.stats.request(name, served.version, outcome === 'ok', (performance.now() - started) * 1e6);
    const model = served ? name : this.modelLabel(name);
    this.metrics.requests.inc({ model, version: served ? String(served.version) : 'none', protocol: call.protocol, outcome });
    if (outcome === 'ok') this.metrics.duration.observe({ model: name, protocol: call.protocol }, (performance.now() - started) / 1000);
  }
}

/** The protocols whose answers (HTTP hook, gRPC handler) audit the calls the runtime did not. */
const ANSWER_AUDITED_PROTOCOLS: ReadonlySet<InferenceCall['protocol']> = new Set(['record', 'oip', 'tfserving', 'oip-grpc']);
/** The model label of refusals that name no model this process routes (kiln_inference_requests_total). */
const UNKNOWN_MODEL_LABEL = '(unknown)';
/** At most this many audited request ids wait for their answer (an answer normally takes its id within the call). */
const MAX_PENDING_AUDITED = 10_000;

function firstValues(outputs: HostTensor[]): number[] {
  const d = outputs[0]?.data;
  if (!d || Array.isArray(d)) return []; // string outputs: no numbers to record
  return Array.from(d.subarray(0, MAX_RECORDED_VALUES));
}

/** A tensor as the audit log stores it (the OIP shape: name, shape, datatype, data); string elements as `{"b64": …}`, losslessly. */
function tensorForAudit(t: HostTensor): { name: string; shape: number[]; datatype: string; data: unknown } {
  const data = Array.isArray(t.data)
    ? t.data.map((b) => ({ b64: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') }))
    : t.data;
  return { name: t.name, shape: t.shape, datatype: t.dtype, data };
}

function withoutExplanation(p: RecordPrediction): RecordPrediction {
  const { explanation: _e, ...rest } = p;
  return rest;
}

/** Batch chunks are audited in aggregate: label counts (classification) or value range (regression). */
function batchSummary(predictions: RecordPrediction[]): { labels?: Record<string, number>; min?: number; max?: number; mean?: number } {
  if (predictions[0]?.label !== undefined) {
    const labels: Record<string, number> = {};
    for (const p of predictions) labels[p.label!] = (labels[p.label!] ?? 0) + 1;
    return { labels };
  }
  const values = predictions.map((p) => p.value ?? NaN).filter(Number.isFinite);
  return values.length
    ? { min: Math.min(...values), max: Math.max(...values), mean: values.reduce((a, b) => a + b, 0) / values.length }
    : {};
}

function liveValues(predictions: RecordPrediction[]): Array<string | number> {
  return predictions.map((p) => p.label ?? p.value ?? NaN);
}
