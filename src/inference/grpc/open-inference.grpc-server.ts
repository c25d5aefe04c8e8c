/**
 * Open Inference Protocol over gRPC: `inference.GRPCInferenceService` (proto/grpc_predict_v2.proto)
 * on KILN_GRPC_PORT (on HOST), served by the same InferenceService as /v2 over REST: same routing,
 * batching, validation messages, statistics and audit (route `oip-grpc`, exactly one record per
 * inference answered, refusals before the runtime included, as on REST).
 *
 * Beside the OIP proto's RPCs it answers Triton's ModelStatistics, ModelConfig and RepositoryIndex
 * (proto/triton/grpc_service.proto), Triton's system and CUDA shared memory RPCs, and tritonclient's
 * RepositoryModelLoad/Unload (Triton numbers their fields differently; see grpc-predict-v2.ts), with
 * the REST extensions' answers. Shared memory registration needs developer, its status predictor or developer.
 *
 * Auth: call metadata `authorization: Bearer <key>` (or `x-api-key: <key>`), with the roles of the
 * REST routes: ServerLive, ServerReady and ServerMetadata are public; ModelReady, ModelMetadata,
 * ModelInfer, ModelConfig and RepositoryIndex need predictor or developer, ModelStatistics also
 * auditor; RepositoryModelLoad/Unload need developer (admin: all).
 * Errors are gRPC statuses carrying the REST error text: 400 → INVALID_ARGUMENT, 401 →
 * UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → NOT_FOUND, 409 → FAILED_PRECONDITION, 413 →
 * RESOURCE_EXHAUSTED, 503 → UNAVAILABLE, anything else → INTERNAL. Every answer carries the call's
 * request id in the `x-request-id` metadata (the audit record's key), as REST answers do in a header.
 *
 * No TLS on this listener (like the HTTP port): terminate TLS in front of it (ingress, mesh, proxy).
 */
import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { ApiKeysService, type ApiRole, type Principal } from '../../platform/auth';
import { KILN_CONFIG, type KilnConfig } from '../../platform/config/kiln-config';
import { toProblem } from '../../platform/http/http-error.filter';
import { InferenceService } from '../inference.service';
import { modelMetadata, parseInferRequest, parseVersionSegment, serverMetadata } from '../protocols/open-inference';
import { grpcInferResponse, inferBodyFromGrpc, type GrpcInferRequest } from './grpc-tensors';
import { servedServiceDefinition } from './grpc-predict-v2';
import { ModelDeployments } from '../../models';
import { actorOf } from '../../platform/audit-trail/admin-event-outbox';
import { TfRuntime } from '../../platform/tfjs/tf-runtime';
import { modelConfig, parseLoadRequest } from '../protocols/oip-extensions';
import { readSharedMemoryInputs } from '../protocols/shared-memory-tensors';
import { cudaSharedMemory } from '../runtime/system-shared-memory';
import { SharedMemoryAdmin } from '../shared-memory-admin';
import { InferenceTracer, nowNs } from '../inference-tracer';
import { grpcTraceSettings, grpcTraceSettingsBody } from '../protocols/trace-settings';

const SERVICE = 'inference.GRPCInferenceService';

const STATUS_OF: Partial<Record<number, grpc.status>> = {
  [HttpStatus.BAD_REQUEST]: grpc.status.INVALID_ARGUMENT,
  [HttpStatus.UNAUTHORIZED]: grpc.status.UNAUTHENTICATED,
  [HttpStatus.FORBIDDEN]: grpc.status.PERMISSION_DENIED,
  [HttpStatus.NOT_FOUND]: grpc.status.NOT_FOUND,
  [HttpStatus.CONFLICT]: grpc.status.FAILED_PRECONDITION,
  [HttpStatus.PAYLOAD_TOO_LARGE]: grpc.status.RESOURCE_EXHAUSTED,
  [HttpStatus.TOO_MANY_REQUESTS]: grpc.status.RESOURCE_EXHAUSTED,
  [HttpStatus.NOT_IMPLEMENTED]: grpc.status.UNIMPLEMENTED,
  [HttpStatus.SERVICE_UNAVAILABLE]: grpc.status.UNAVAILABLE,
  [HttpStatus.GATEWAY_TIMEOUT]: grpc.status.DEADLINE_EXCEEDED,
};

/** Who may call an RPC: public, or the roles allowed besides admin. */
type Access = 'public' | ApiRole[];

const DATA_PLANE: ApiRole[] = ['predictor', 'developer'];

/** KServe's RepositoryModelLoadRequest, or Triton's with its `parameters` (ModelRepositoryParameter: a oneof). */
interface RepositoryLoadRequest {
  model_name?: string;
  parameters?: Record<string, { string_param?: string; bool_param?: boolean; int64_param?: number }>;
}

/** Triton's SystemSharedMemoryRegisterRequest (uint64 fields decoded as numbers). */
interface SharedMemoryRegisterRequest {
  name?: string;
  key?: string;
  offset?: number;
  byte_size?: number;
}

interface CallContext {
  requestId: string;
  principal: Principal | null;
  /** When the request message was read (ns since the epoch; traces). */
  receivedNs: number;
}

/** Triton's TraceSettingRequest: settings to change (none: a read), for a model or globally. */
interface GrpcTraceSettingRequest {
  settings?: Record<string, { value?: string[] }>;
  model_name?: string;
}

/** The admin actor of an RPC: its request id and the calling key. */
function actorOfCall(ctx: CallContext) {
  return actorOf({ id: ctx.requestId, ...(ctx.principal ? { principal: ctx.principal } : {}) });
}

@Injectable()
export class OpenInferenceGrpcServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OipGrpc');
  private server: grpc.Server | null = null;
  private boundPort: number | null = null;

  constructor(
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    private readonly inference: InferenceService,
    private readonly keys: ApiKeysService,
    private readonly deployments: ModelDeployments,
    private readonly sharedMemory: SharedMemoryAdmin,
    private readonly tracer: InferenceTracer,
  ) {}

  /** The port the listener is bound to (KILN_GRPC_PORT, or the one picked for 0); null when off. */
  get port(): number | null {
    return this.boundPort;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.grpc.port === null) return;
    const server = new grpc.Server({
      // The serving body limit applies to gRPC messages too (grpc-js's default is 4 MB).
      'grpc.max_receive_message_length': this.config.http.servingBodyLimitBytes,
    });
    server.addService(servedServiceDefinition(), this.handlers());
    const host = this.config.http.host;
    const address = `${host.includes(':') ? `[${host}]` : host}:${this.config.grpc.port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
    this.logger.log({ address, port: this.boundPort }, 'Open Inference Protocol gRPC listener up');
  }

  /** Lets in-flight calls finish (bounded by the shutdown timeout), then closes the listener. */
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, this.config.shutdownTimeoutMs);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      ServerLive: this.unary('ServerLive', 'public', () => ({ live: true })),
      ServerReady: this.unary('ServerReady', 'public', () => ({ ready: this.inference.serverReady() })),
      ServerMetadata: this.unary('ServerMetadata', 'public', () => serverMetadata(this.config.version.package)),
      ModelReady: this.unary('ModelReady', DATA_PLANE, (req: { name?: string; version?: string }) => this.modelReady(req)),
      ModelMetadata: this.unary('ModelMetadata', DATA_PLANE, (req: { name?: string; version?: string }) => this.modelMetadata(req)),
      ModelInfer: this.unary('ModelInfer', DATA_PLANE, (req: GrpcInferRequest, ctx) => this.modelInfer(req, ctx)),
      ModelStreamInfer: this.streamInfer(),
      RepositoryModelLoad: this.unary('RepositoryModelLoad', ['developer'], (req: RepositoryLoadRequest, ctx) => this.load(req, ctx)),
      RepositoryModelUnload: this.unary('RepositoryModelUnload', ['developer'], async (req: { model_name?: string }) => {
        const name = requiredName(req.model_name, 'model_name');
        await this.inference.repository.unload(name);
        return { model_name: name, isUnloaded: true };
      }),
      // Triton's extensions (proto/triton/grpc_service.proto), as on REST.
      ModelStatistics: this.unary('ModelStatistics', [...DATA_PLANE, 'auditor'], async (req: { name?: string; version?: string }) => {
        if (!req.name && req.version) throw new BadRequestException('version: needs a model name');
        const version = req.name && req.version ? parseVersionSegment(req.name, req.version).version : undefined;
        return { model_stats: await this.inference.repository.statistics(req.name || undefined, version) };
      }),
      ModelConfig: this.unary('ModelConfig', DATA_PLANE, async (req: { name?: string; version?: string }) => {
        const name = requiredName(req.name, 'name');
        const model = await this.inference.describe(name, parseVersionSegment(name, req.version || undefined));
        const gpu = TfRuntime.info()?.provider === '@tensorflow/tfjs-node-gpu';
        return { config: modelConfig(model, this.inference.repository.servingSettings(name), gpu) };
      }),
      RepositoryIndex: this.unary('RepositoryIndex', DATA_PLANE, async (req: { repository_name?: string; ready?: boolean }) => {
        // Triton's message for the same request.
        if (req.repository_name) throw new BadRequestException("'repository_name' specification is not supported");
        return { models: await this.inference.repository.index(req.ready ?? false) };
      }),
      // Triton's shared memory extensions, as on REST (shared-memory.controller.ts).
      SystemSharedMemoryStatus: this.unary('SystemSharedMemoryStatus', DATA_PLANE, (req: { name?: string }) => ({
        regions: Object.fromEntries(this.inference.sharedMemory.status(req.name || undefined).map((r) => [r.name, r])),
      })),
      // Registering and unregistering are admin actions: one admin event per answered call, as on REST.
      SystemSharedMemoryRegister: this.unary('SystemSharedMemoryRegister', ['developer'], async (req: SharedMemoryRegisterRequest, ctx) => {
        await this.sharedMemory.register(req.name ?? '', req.key, req.offset ?? 0, req.byte_size ?? 0, actorOfCall(ctx));
        return {};
      }),
      SystemSharedMemoryUnregister: this.unary('SystemSharedMemoryUnregister', ['developer'], async (req: { name?: string }, ctx) => {
        await this.sharedMemory.unregister(req.name || undefined, actorOfCall(ctx));
        return {};
      }),
      // Triton's trace extension, as on REST (trace.controller.ts): reading needs a data-plane role, changing developer.
      TraceSetting: this.unary('TraceSetting', DATA_PLANE, async (req: GrpcTraceSettingRequest, ctx) => {
        const model = req.model_name || undefined;
        if (Object.keys(req.settings ?? {}).length === 0) return { settings: grpcTraceSettings(await this.tracer.view(model)) };
        const role = ctx.principal?.role;
        if (role !== 'admin' && role !== 'developer') {
          throw new HttpStatusError(HttpStatus.FORBIDDEN, `role "${role}" may not change trace settings; allowed: admin, developer`);
        }
        return { settings: grpcTraceSettings(await this.tracer.update(model, grpcTraceSettingsBody(req.settings), actorOfCall(ctx))) };
      }),
      CudaSharedMemoryStatus: this.unary('CudaSharedMemoryStatus', DATA_PLANE, (req: { name?: string }) => ({
        regions: Object.fromEntries(cudaSharedMemory.status(req.name || undefined).map((r) => [r.name, r])),
      })),
      CudaSharedMemoryRegister: this.unary('CudaSharedMemoryRegister', ['developer'], (req: { name?: string }) =>
        cudaSharedMemory.register(req.name ?? ''),
      ),
      CudaSharedMemoryUnregister: this.unary('CudaSharedMemoryUnregister', ['developer'], () => {
        cudaSharedMemory.unregister();
        return {};
      }),
    };
  }

  /** KServe's or Triton's load; Triton's `config` parameter as on REST (serving settings, an admin event). */
  private async load(req: RepositoryLoadRequest, ctx: CallContext) {
    const name = requiredName(req.model_name, 'model_name');
    const parameters = Object.fromEntries(
      Object.entries(req.parameters ?? {}).map(([k, p]) => [k, p.string_param ?? p.bool_param ?? p.int64_param ?? null]),
    );
    const { serving } = parseLoadRequest(name, Object.keys(parameters).length > 0 ? { parameters } : {});
    if (serving && Object.keys(serving).length > 0) {
      if (!(await this.inference.repository.exists(name))) throw new NotFoundException(`failed to load '${name}': no model of that name`);
      await this.deployments.setServing(name, serving, ctx.principal?.name ?? null, actorOfCall(ctx));
    }
    await this.inference.repository.load(name);
    return { model_name: name, isLoaded: true };
  }

  /** One unary RPC: auth, the handler, the request id in the metadata, errors as gRPC statuses. */
  private unary<Req, Res>(
    method: string,
    access: Access,
    handle: (request: Req, ctx: CallContext) => Res | Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const started = performance.now();
      const receivedNs = nowNs();
      const requestId = randomUUID();
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', requestId);
      call.sendMetadata(metadata);
      let principal: Principal | null = null;
      (async () => {
        principal = await this.authorize(call.metadata, access);
        return handle(call.request, { requestId, principal, receivedNs });
      })().then(
        (response) => {
          if (method === 'ModelInfer') this.inference.forgetAudited(requestId);
          callback(null, response);
        },
        async (error: unknown) => {
          const status = this.toStatus(error, method, requestId);
          if (method === 'ModelInfer')
            await this.auditRefusal(call.request as GrpcInferRequest, requestId, principal, error, status, started);
          callback(status);
        },
      );
    };
  }

  /**
   * Triton's ModelStreamInfer (bidirectional stream): each ModelInferRequest on the stream is one
   * inference, as a ModelInfer call (same runtime, batching, validation, one audit record each, its
   * own request id in the response's `kiln_request_id` parameter). Requests run as they arrive (the
   * dynamic batcher may join them); responses are written in the order of the requests. A failed
   * request answers `error_message` on the stream, which stays open (Triton's behaviour); the
   * stream ends with OK once the client has half-closed and every response is written. Auth is
   * checked once, from the call's metadata: a refusal ends the stream with the gRPC status.
   * A request's `triton_enable_empty_final_response` parameter is honoured the way Triton does for a
   * model that is not decoupled: its one response carries `triton_final_response: true`.
   */
  private streamInfer(): grpc.handleBidiStreamingCall<GrpcInferRequest, StreamInferResponse> {
    return (call) => {
      const streamId = randomUUID();
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', streamId);
      call.sendMetadata(metadata);
      const principal = this.authorize(call.metadata, DATA_PLANE);
      let written: Promise<void> = Promise.resolve();
      let failed = false;
      principal.catch((error: unknown) => {
        failed = true;
        call.emit('error', this.toStatus(error, 'ModelStreamInfer', streamId));
      });
      call.on('data', (req: GrpcInferRequest) => {
        if (failed) return;
        const started = performance.now();
        const receivedNs = nowNs();
        const requestId = randomUUID();
        const answer = principal.then(
          (p) =>
            this.modelInfer(req, { requestId, principal: p, receivedNs }).then(
              (res): StreamInferResponse => {
                this.inference.forgetAudited(requestId);
                return { error_message: '', infer_response: finalResponse(res, req, requestId) };
              },
              async (error: unknown): Promise<StreamInferResponse> => {
                const status = this.toStatus(error, 'ModelStreamInfer', requestId);
                await this.auditRefusal(req, requestId, p, error, status, started);
                return { error_message: status.details ?? '' };
              },
            ),
          () => null,
        );
        written = written.then(async () => {
          const response = await answer;
          if (response && !failed && !call.cancelled) call.write(response);
        });
      });
      call.on('end', () => {
        void written.then(() => {
          if (!failed && !call.cancelled) call.end();
        });
      });
      call.on('error', () => {
        failed = true;
      });
    };
  }

  /** Audits a ModelInfer refused before the runtime recorded it (auth, codec, unknown model): every answered call once. */
  private async auditRefusal(
    req: GrpcInferRequest | undefined,
    requestId: string,
    principal: Principal | null,
    error: unknown,
    status: Partial<grpc.StatusObject>,
    started: number,
  ): Promise<void> {
    const call = { protocol: 'oip-grpc' as const, requestId, clientRequestId: req?.id || null, callerKeyId: principal?.keyId ?? null };
    await this.inference
      .auditIfUnrecorded(req?.model_name ?? '', call, httpStatusOf(error), status.details ?? '', performance.now() - started)
      .catch((err: unknown) => this.logger.error({ err, requestId }, 'could not audit a refused gRPC call'));
  }

  private async authorize(metadata: grpc.Metadata, access: Access): Promise<Principal | null> {
    if (access === 'public') return null;
    const key = presentedKey(metadata);
    if (!key)
      throw new HttpStatusError(HttpStatus.UNAUTHORIZED, 'an API key is required (metadata authorization: Bearer <key> or x-api-key)');
    const principal = await this.keys.verify(key);
    if (!principal) throw new HttpStatusError(HttpStatus.UNAUTHORIZED, 'the API key is not valid or was revoked');
    if (principal.role !== 'admin' && !access.includes(principal.role)) {
      throw new HttpStatusError(HttpStatus.FORBIDDEN, `role "${principal.role}" may not do this; allowed: admin, ${access.join(', ')}`);
    }
    return principal;
  }

  private toStatus(error: unknown, method: string, requestId: string): Partial<grpc.StatusObject> {
    if (error instanceof HttpStatusError) return { code: STATUS_OF[error.status] ?? grpc.status.INTERNAL, details: error.message };
    const problem = toProblem(error, { url: `/${SERVICE}/${method}`, id: requestId });
    if (problem.status >= 500 && problem.status !== HttpStatus.SERVICE_UNAVAILABLE) {
      this.logger.error({ err: error, requestId, method }, 'gRPC call failed');
    }
    return { code: STATUS_OF[problem.status] ?? grpc.status.INTERNAL, details: problem.detail };
  }

  private async modelReady(req: { name?: string; version?: string }): Promise<{ ready: boolean }> {
    const name = requiredName(req.name, 'name');
    const selector = parseVersionSegment(name, req.version || undefined);
    try {
      return { ready: await this.inference.isReady(name, selector) };
    } catch (e) {
      // A known model that nothing routes and nothing loaded is simply not ready; an unknown one is NOT_FOUND.
      if (e instanceof NotFoundException && selector.version === undefined && (await this.inference.repository.exists(name))) {
        return { ready: false };
      }
      throw e;
    }
  }

  private async modelMetadata(req: { name?: string; version?: string }) {
    const name = requiredName(req.name, 'name');
    const selector = parseVersionSegment(name, req.version || undefined);
    const model = await this.inference.describe(name, selector);
    const versions =
      selector.version !== undefined ? [model.version] : (await this.inference.versionStatus(name, {})).map((s) => s.version);
    return modelMetadata(model, versions.length ? [...new Set(versions)].sort((a, b) => a - b) : [model.version]);
  }

  private async modelInfer(req: GrpcInferRequest, ctx: CallContext) {
    const name = requiredName(req.model_name, 'model_name');
    const selector = parseVersionSegment(name, req.model_version || undefined);
    const model = await this.inference.describe(name, selector);
    const trace = this.tracer.start(name, ctx.requestId, 'oip-grpc');
    trace?.mark('GRPC_WAITREAD_END', ctx.receivedNs);
    trace?.mark('REQUEST_START');
    let shared: Awaited<ReturnType<typeof readSharedMemoryInputs>> = null;
    try {
      const { body, raw } = inferBodyFromGrpc(req);
      shared = await readSharedMemoryInputs(body, this.inference.sharedMemory);
      const request = parseInferRequest(shared?.body ?? body, model);
      const infer = () =>
        this.inference.infer(
          name,
          selector,
          request.inputs,
          {
            protocol: 'oip-grpc',
            requestId: ctx.requestId,
            clientRequestId: request.id ?? null,
            callerKeyId: ctx.principal?.keyId ?? null,
          },
          { ...(request.outputs ? { outputs: request.outputs } : {}), ...(shared ? { deliver: shared.write } : {}) },
        );
      const result = trace ? await trace.compute(request.inputs, infer) : await infer();
      const response = grpcInferResponse(result, request, raw, new Set(shared?.outputs.keys()));
      trace?.end();
      return response;
    } catch (e) {
      trace?.end(e);
      throw e;
    } finally {
      await shared?.release();
    }
  }
}

/** Triton's ModelStreamInferResponse: an error text, or the response. */
interface StreamInferResponse {
  error_message: string;
  infer_response?: ReturnType<typeof grpcInferResponse> & { parameters?: Record<string, unknown> };
}

/** The response with the call's request id (the audit record's key) and, when asked, Triton's final-response flag. */
function finalResponse(res: ReturnType<typeof grpcInferResponse>, req: GrpcInferRequest, requestId: string) {
  const final = req.parameters?.triton_enable_empty_final_response?.bool_param === true;
  return {
    ...res,
    parameters: { kiln_request_id: { string_param: requestId }, ...(final ? { triton_final_response: { bool_param: true } } : {}) },
  };
}

/** An auth refusal (its status maps straight to a gRPC code). */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP status an error answers with (what the audit record keeps, as for REST). */
function httpStatusOf(error: unknown): number {
  if (error instanceof HttpStatusError) return error.status;
  return toProblem(error, { url: '/', id: '' }).status;
}

function requiredName(value: string | undefined, field: string): string {
  if (!value) throw new BadRequestException(`${field}: required (the model's name)`);
  return value;
}

/** The key in call metadata: `authorization: Bearer <key>` or `x-api-key: <key>`. */
function presentedKey(metadata: grpc.Metadata): string | undefined {
  const auth = metadata.get('authorization')[0];
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim() || undefined;
  const key = metadata.get('x-api-key')[0];
  return typeof key === 'string' && key.trim() ? key.trim() : undefined;
}
