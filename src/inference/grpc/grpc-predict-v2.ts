/**
 * The Open Inference Protocol's gRPC service definition, loaded at run time from the committed proto
 * (`proto/grpc_predict_v2.proto` at the repository root, KServe's, Apache-2.0) by @grpc/proto-loader:
 * no generated code to keep in step with the proto. Tests build their client from the same file.
 *
 * Triton's own definition of the same service (`proto/triton/grpc_service.proto`, BSD-3-Clause) is
 * loaded separately (one file may not redefine the other's messages): Kiln adds its ModelStatistics,
 * ModelConfig and RepositoryIndex RPCs, which tritonclient calls, to the OIP service it serves.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_FILE_NAME = 'grpc_predict_v2.proto';
export const TRITON_PROTO_FILE_NAME = 'triton/grpc_service.proto';

/** A proto's path: `proto/<file>` in the nearest directory above this file that has it (the repository or the installed package). */
export function protoPath(file: string = PROTO_FILE_NAME, from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto', file);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${file} not found in a proto/ folder above ${from}`);
  }
}

/**
 * How messages are decoded: field names as in the proto (snake_case, as every OIP client writes
 * them), int64 as JS numbers (shapes; 64-bit tensor values are limited to ±2^53 by the OIP codec
 * anyway), absent scalars and messages left undefined, repeated fields always arrays, and the
 * `InferParameter` oneof named in `parameter_choice`.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
};

export interface OipGrpcPackage {
  /** `inference.GRPCInferenceService`: the client constructor; `.service` is the server-side definition. */
  GRPCInferenceService: grpc.ServiceClientConstructor;
}

/** The loaded `inference` package of the proto. */
export function loadOipGrpcPackage(path: string = protoPath()): OipGrpcPackage {
  const definition = protoLoader.loadSync(path, PROTO_LOADER_OPTIONS);
  return (grpc.loadPackageDefinition(definition) as unknown as { inference: OipGrpcPackage }).inference;
}

/** The `inference` package of Triton's grpc_service.proto (with model_config.proto beside it). */
export function loadTritonGrpcPackage(path: string = protoPath(TRITON_PROTO_FILE_NAME)): OipGrpcPackage {
  const definition = protoLoader.loadSync(path, { ...PROTO_LOADER_OPTIONS, includeDirs: [dirname(path)] });
  return (grpc.loadPackageDefinition(definition) as unknown as { inference: OipGrpcPackage }).inference;
}

/**
 * The service Kiln serves: the OIP proto's RPCs, plus Triton's ModelStreamInfer, ModelStatistics,
 * ModelConfig, RepositoryIndex and the shared memory RPCs. RepositoryModelLoad/Unload keep KServe's
 * messages (`model_name` is field 1), and a request with no field 1 is read again as Triton's
 * (`repository_name` 1, `model_name` 2, `parameters` 3), so both KServe's and tritonclient's load and unload reach the model.
 */
export function servedServiceDefinition(): grpc.ServiceDefinition {
  const oip = loadOipGrpcPackage().GRPCInferenceService.service;
  const triton = loadTritonGrpcPackage().GRPCInferenceService.service;
  const either = (method: 'RepositoryModelLoad' | 'RepositoryModelUnload'): grpc.MethodDefinition<object, object> => {
    const k = oip[method] as grpc.MethodDefinition<{ model_name?: string }, object>;
    const t = triton[method] as grpc.MethodDefinition<{ model_name?: string; parameters?: unknown }, object>;
    return {
      ...k,
      requestDeserialize: (bytes: Buffer) => {
        const kserve = k.requestDeserialize(bytes);
        if (kserve.model_name) return kserve;
        const tr = t.requestDeserialize(bytes);
        return { model_name: tr.model_name ?? '', ...(tr.parameters ? { parameters: tr.parameters } : {}) };
      },
    } as grpc.MethodDefinition<object, object>;
  };
  return {
    ...oip,
    ModelStreamInfer: triton.ModelStreamInfer!,
    ModelStatistics: triton.ModelStatistics!,
    ModelConfig: triton.ModelConfig!,
    RepositoryIndex: triton.RepositoryIndex!,
    SystemSharedMemoryStatus: triton.SystemSharedMemoryStatus!,
    SystemSharedMemoryRegister: triton.SystemSharedMemoryRegister!,
    SystemSharedMemoryUnregister: triton.SystemSharedMemoryUnregister!,
    CudaSharedMemoryStatus: triton.CudaSharedMemoryStatus!,
    CudaSharedMemoryRegister: triton.CudaSharedMemoryRegister!,
    CudaSharedMemoryUnregister: triton.CudaSharedMemoryUnregister!,
    TraceSetting: triton.TraceSetting!,
    RepositoryModelLoad: either('RepositoryModelLoad'),
    RepositoryModelUnload: either('RepositoryModelUnload'),
  };
}
