/**
 * What the OIP tests that play tritonclient share: a gRPC client generated from Triton's proto with
 * the admin key in its metadata, tritonclient's BYTES serialization, and the wait for /v2 readiness.
 */
import * as grpc from '@grpc/grpc-js';
import { OpenInferenceGrpcServer } from '../../src/inference/grpc/open-inference.grpc-server';
import { loadTritonGrpcPackage } from '../../src/inference/grpc/grpc-predict-v2';
import { eventually, type TestKiln } from '../utils/test-kiln';

type Rpc = (
  request: unknown,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, res: unknown) => void,
) => grpc.ClientUnaryCall;

export interface TritonGrpcClient {
  /** Calls one unary RPC with the admin key: the response, or the error status. */
  call<T = any>(method: string, request: unknown): Promise<{ response?: T; error?: grpc.ServiceError }>;
  close(): void;
}

/** A client of Kiln's gRPC listener generated from proto/triton/grpc_service.proto, as tritonclient's stubs are. */
export function tritonGrpcClient(kiln: TestKiln): TritonGrpcClient {
  const Triton = loadTritonGrpcPackage().GRPCInferenceService;
  const port = kiln.app.get(OpenInferenceGrpcServer).port!;
  const client = new Triton(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Rpc>;
  return {
    call: (method, request) =>
      new Promise((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${kiln.adminKey}`);
        client[method]!.call(client, request, metadata, (err, res) => resolve(err ? { error: err } : { response: res as never }));
      }),
    close: () => client.close(),
  };
}

/** tritonclient's serialize_byte_tensor: each element a 4-byte little-endian length, then its bytes. */
export function lengthPrefixed(elements: Array<string | Buffer>): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const bytes = Buffer.isBuffer(e) ? e : Buffer.from(e, 'utf8');
      const n = Buffer.alloc(4);
      n.writeUInt32LE(bytes.length);
      return [n, bytes];
    }),
  );
}

/**
 * Waits until `GET /v2/health/ready` answers 200 (every routed version loaded). The cap is generous on
 * purpose: loading takes longer on a loaded machine, which should make a test slower, not red.
 */
export async function servingReady(kiln: TestKiln): Promise<void> {
  await eventually(
    async () => ((await kiln.request('GET', '/v2/health/ready', { key: null })).status === 200 ? true : undefined),
    180_000,
    100,
  );
}
