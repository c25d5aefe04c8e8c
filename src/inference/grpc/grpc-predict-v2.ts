/**
 * The Open Inference Protocol's gRPC service definition, loaded at run time from the committed proto
 * (`proto/grpc_predict_v2.proto` at the repository root, KServe's, Apache-2.0) by @grpc/proto-loader:
 * no generated code to keep in step with the proto. Tests build their client from the same file.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_FILE_NAME = 'grpc_predict_v2.proto';

/** The proto's path: `proto/` of the nearest directory above this file that has it (the repository or the installed package). */
export function protoPath(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto', PROTO_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${PROTO_FILE_NAME} not found in a proto/ folder above ${from}`);
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
