/**
 * bench/serve/grpc-raw-tensors.ts — the Open Inference Protocol over gRPC with raw tensors
 * (`raw_input_contents`, `raw_output_contents`, what tritonclient sends and reads), this build against
 * another build:
 *
 *   npm run build --silent && node dist/bench/serve/grpc-raw-tensors.js [/work/main/dist]
 *   BENCH_ROUNDS=7 BENCH_E2E_ROUNDS=15 BENCH_E2E=off node dist/bench/serve/grpc-raw-tensors.js …
 *
 * 1. The codec, both builds' compiled modules in this process, alternating rounds (A, B, A, B…):
 *    - `decode`: `inferBodyFromGrpc` + `parseInferRequest` (the ModelInferRequest → the model's input
 *      tensors) on a 16 MB FP32 tensor, a small one of 30 floats, and 16 MB of FP16 and INT64, the bytes
 *      at an unaligned offset (a bytes field sits anywhere in a decoded message);
 *    - `encode`: `grpcInferResponse` with raw outputs (the tensor → `raw_output_contents`), 16 MB FP32
 *      and INT64.
 *    CPU per call (process.cpuUsage over a batch of calls: 1 for 16 MB, 50 000 for 30 floats), median
 *    over the rounds per build, and the ratio. Both builds' results must be equal (compared each round).
 * 2. End to end: a Kiln child of each build (embedded PostgreSQL each, in a data dir removed at the end;
 *    audit off, gRPC on a free port, KILN_SERVING_BODY_LIMIT_BYTES=256 MiB), half_plus_two imported,
 *    one ModelInfer of a 16 MB FP32
 *    [1, N] tensor as raw contents at a time, the builds in turn: wall ms until the answer is decoded by
 *    the client and CPU ms of the Kiln process (from /proc, 10 ms ticks: the mean is shown too), and the
 *    answers' SHA-256 compared.
 * Prints the load average before and after.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { runBench } from '../common/run-bench';
import { benchKilnEnv, importHalfPlusTwo, startKilnChild, type KilnChild } from './kiln-server';
import { cpuSecondsBetween, cpuSnapshot } from './proc-stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const E2E_ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 15);
const E2E = process.env.BENCH_E2E !== 'off';
const MB = 1024 * 1024;

interface GrpcRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
  outputs: unknown[];
  raw_input_contents: Buffer[];
}

interface Build {
  label: string;
  inferBodyFromGrpc(req: GrpcRequest): { body: Record<string, unknown> };
  parseInferRequest(body: unknown, model: unknown): { inputs: Array<{ data: ArrayLike<number> }> };
  grpcInferResponse(result: unknown, request: object, raw: boolean): { raw_output_contents: Buffer[] };
}

function load(label: string, dist: string): Build {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const grpcTensors = require(join(dist, 'src/inference/grpc/grpc-tensors.js'));
  const oip = require(join(dist, 'src/inference/protocols/open-inference.js'));
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    label,
    inferBodyFromGrpc: grpcTensors.inferBodyFromGrpc,
    parseInferRequest: oip.parseInferRequest,
    grpcInferResponse: grpcTensors.grpcInferResponse,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Deterministic bytes (a xorshift stream): the same tensors on every run. */
function bytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** Float32 values in [-4, 4) as little-endian bytes. */
function fp32Bytes(elements: number): Buffer {
  const raw = bytes(elements * 4);
  const values = new Float32Array(elements);
  for (let i = 0; i < elements; i++) values[i] = (raw.readUInt32LE(i * 4) / 2 ** 32) * 8 - 4;
  return Buffer.from(values.buffer);
}

/** INT64 values within ±2^40 as little-endian bytes. */
function int64Bytes(elements: number): Buffer {
  const raw = bytes(elements * 8);
  const out = Buffer.alloc(elements * 8);
  for (let i = 0; i < elements; i++) out.writeBigInt64LE(BigInt(raw.readInt32LE(i * 8)) * 256n, i * 8);
  return out;
}

/** FP16 bit patterns of finite values (exponent below all ones). */
function fp16Bytes(elements: number): Buffer {
  const raw = bytes(elements * 2);
  for (let i = 0; i < elements; i++) raw.writeUInt16LE(raw.readUInt16LE(i * 2) & 0xbbff, i * 2);
  return raw;
}

interface Cell {
  name: string;
  /** Calls per CPU measurement. */
  batch: number;
  run(b: Build): unknown;
}

/** The same result in both builds: typed arrays and buffers compared by their values. */
function fingerprint(out: unknown): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify(out, (_k, v: unknown) =>
      v instanceof Uint8Array || (v as { type?: string })?.type === 'Buffer'
        ? createHash('sha256')
            .update(Buffer.from(v as Uint8Array))
            .digest('hex')
        : ArrayBuffer.isView(v)
          ? createHash('sha256')
              .update(Buffer.from(new Float64Array(Array.from(v as Float32Array)).buffer))
              .digest('hex')
          : v,
    ),
  );
  return hash.digest('hex');
}

function codecCells(): Cell[] {
  const model = (dtype: string) => ({
    name: 'm',
    inputs: [{ name: 'x', dtype, shape: [1, -1] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, -1] }],
  });
  const decode = (name: string, datatype: string, raw: Buffer, width: number, dtype: string, batch: number): Cell => {
    const req: GrpcRequest = {
      model_name: 'm',
      model_version: '',
      id: '',
      inputs: [{ name: 'x', datatype, shape: [1, raw.length / width] }],
      outputs: [],
      // where protobufjs leaves a bytes field: inside the message, at any offset (here an unaligned one)
      raw_input_contents: [Buffer.concat([Buffer.alloc(1), raw]).subarray(1)],
    };
    const m = model(dtype);
    return { name, batch, run: (b) => b.parseInferRequest(b.inferBodyFromGrpc(req).body, m).inputs[0]!.data };
  };
  const encode = (name: string, dtype: string, data: Float32Array | Float64Array): Cell => {
    const result = {
      model: { name: 'm', version: 1 },
      canary: false,
      outputs: [{ name: 'y', dtype, shape: [1, data.length], data }],
    };
    return { name, batch: 1, run: (b) => b.grpcInferResponse(result, {}, true).raw_output_contents };
  };
  const fp32 = fp32Bytes((16 * MB) / 4);
  const int64 = int64Bytes((16 * MB) / 8);
  return [
    decode('decode FP32 16 MB → float32', 'FP32', fp32, 4, 'float32', 1),
    decode('decode FP32 30 floats → float32', 'FP32', fp32Bytes(30), 4, 'float32', 50_000),
    decode('decode FP16 16 MB → float32', 'FP16', fp16Bytes((16 * MB) / 2), 2, 'float32', 1),
    decode('decode INT64 16 MB → int64', 'INT64', int64, 8, 'int64', 1),
    encode('encode float32 16 MB → raw', 'float32', new Float32Array(fp32.buffer, fp32.byteOffset, fp32.length / 4)),
    encode(
      'encode int64 16 MB → raw',
      'int64',
      Float64Array.from(new BigInt64Array(int64.buffer, int64.byteOffset, int64.length / 8), Number),
    ),
  ];
}

/** CPU ms per call, per build, per cell; results compared between the builds each round. */
function codecBench(builds: Build[]): void {
  const cells = codecCells();
  const cpu = cells.map(() => builds.map(() => [] as number[]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [c, cell] of cells.entries()) {
      // alternate which build goes first, so neither always runs right after the other's garbage
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const prints: string[] = [];
      for (const i of order) {
        const b = builds[i]!;
        let out: unknown;
        const t0 = process.cpuUsage();
        for (let k = 0; k < cell.batch; k++) out = cell.run(b);
        const used = process.cpuUsage(t0);
        cpu[c]![i]!.push((used.user + used.system) / 1000 / cell.batch);
        prints[i] = fingerprint(out);
      }
      if (prints[0] !== prints[1]) throw new Error(`${cell.name}: the builds' results differ`);
    }
  }
  console.log(`\ncodec: CPU ms per call, median of ${ROUNDS} rounds (process.cpuUsage, this process)`);
  console.log('cell | baseline ms | this build ms | this ÷ baseline');
  for (const [c, cell] of cells.entries()) {
    const [a, b] = cpu[c]!.map(median) as [number, number];
    const f = (x: number) => (x < 1 ? x.toFixed(4) : x.toFixed(1));
    console.log(`${cell.name} | ${f(a)} | ${f(b)} | ${(b / a).toFixed(3)}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

type Rpc = (request: unknown, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, res: any) => void) => unknown;

async function e2eBench(dists: Array<{ label: string; dist: string }>): Promise<void> {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const { loadOipGrpcPackage } = require(join(dists[1]!.dist, 'src/inference/grpc/grpc-predict-v2.js'));
  const servers: Array<{ kiln: KilnChild; client: grpc.Client & Record<string, Rpc>; key: string }> = [];
  const dataDirs: string[] = [];
  try {
    for (const { dist } of dists) {
      const port = await freePort();
      const { env, adminKey, dataDir } = benchKilnEnv('grpc-raw', 'bench-grpc-raw-');
      dataDirs.push(dataDir);
      Object.assign(env, { KILN_GRPC_PORT: String(port), KILN_SERVING_BODY_LIMIT_BYTES: String(256 * MB) });
      const kiln = await startKilnChild(env, [], join(dist, 'src/main.js'));
      await importHalfPlusTwo(kiln.url, adminKey);
      const Service = loadOipGrpcPackage().GRPCInferenceService;
      const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': -1,
        'grpc.max_receive_message_length': -1,
      }) as grpc.Client & Record<string, Rpc>;
      servers.push({ kiln, client, key: adminKey });
    }
    const raw = fp32Bytes((16 * MB) / 4);
    const request = {
      model_name: 'half_plus_two',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, raw.length / 4] }],
      raw_input_contents: [raw],
    };
    const infer = (s: (typeof servers)[number]) =>
      new Promise<{ raw_output_contents: Buffer[] }>((ok, fail) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${s.key}`);
        s.client.ModelInfer!.call(s.client, request, metadata, (err, res) => (err ? fail(err) : ok(res)));
      });
    for (const s of servers) await infer(s); // warm-up: model load, first-call compilation
    const wall = servers.map(() => [] as number[]);
    const cpu = servers.map(() => [] as number[]);
    for (let round = 0; round < E2E_ROUNDS; round++) {
      const hashes: string[] = [];
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const s = servers[i]!;
        const c0 = cpuSnapshot([s.kiln.pid]);
        const t0 = performance.now();
        const res = await infer(s);
        wall[i]!.push(performance.now() - t0);
        cpu[i]!.push(cpuSecondsBetween(c0, cpuSnapshot([s.kiln.pid])) * 1000);
        hashes[i] = createHash('sha256').update(Buffer.concat(res.raw_output_contents)).digest('hex');
      }
      if (hashes[0] !== hashes[1]) throw new Error("end to end: the builds' answers differ");
    }
    console.log(`\nend to end: gRPC ModelInfer, 16 MB FP32 raw in and out (half_plus_two), ${E2E_ROUNDS} calls each, in turn`);
    console.log('build | median wall ms | median Kiln CPU ms | mean Kiln CPU ms');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [i, { label }] of dists.entries()) {
      console.log(`${label} | ${median(wall[i]!).toFixed(0)} | ${median(cpu[i]!).toFixed(0)} | ${mean(cpu[i]!).toFixed(0)}`);
    }
    const ratio = (xs: number[][], f = median) => (f(xs[1]!) / f(xs[0]!)).toFixed(3);
    console.log(`this ÷ baseline | ${ratio(wall)} | ${ratio(cpu)} | ${ratio(cpu, mean)}`);
  } finally {
    for (const s of servers) {
      s.client.close();
      await s.kiln.stop();
    }
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const other = resolve(process.argv[2] ?? '/work/main/dist');
  const mine = resolve(__dirname, '../../');
  const dists = [
    { label: `baseline (${other})`, dist: other },
    { label: 'this build', dist: mine },
  ];
  codecBench(dists.map((d) => load(d.label, d.dist)));
  if (E2E) await e2eBench(dists);
}

runBench(main);
