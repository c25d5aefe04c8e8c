/**
 * Open Inference Protocol over gRPC: ModelInferRequest ↔ the REST codec's JSON form, pure functions.
 *
 * A request's tensors come either as typed `contents` (the field of the datatype: `fp32_contents`
 * for FP32, `int_contents` for INT8/16/32, …) or, for every input at once, as `raw_input_contents`
 * (little-endian, row-major bytes, one entry per input; BOOL one byte per element). Both are turned
 * into the `{name, datatype, shape, data}` inputs of the REST form and checked by the same OIP codec
 * (`parseInferRequest`), so /v2 over REST and over gRPC refuse the same things with the same messages.
 * Raw contents are decoded as the binary tensor extension's bytes are (one typed array per input, see
 * `decodeRawNumbers`); FP16 and BF16, which have no `contents` field, are read from raw bytes into the
 * FP32 numbers they denote (exactly: both are subsets of float32).
 *
 * Outputs are answered the way the request came: raw in → `raw_output_contents` (what Triton always
 * does and what tritonclient reads; the binary extension's bytes, `tensorBytes`), `contents` in → typed
 * `contents` (what KServe's client reads).
 */
import { BadRequestException } from '@nestjs/common';
import { decodeRawData, ELEMENT_BYTES, tensorBytes, type RawNumbers } from '../protocols/binary-tensors';
import { oipDatatype, type ParsedInferRequest } from '../protocols/open-inference';
import { placedInSharedMemory } from '../protocols/shared-memory-tensors';
import type { HostTensor, InferenceResult } from '../runtime/served-model';

/** `InferParameter` as @grpc/proto-loader decodes it (oneofs: true). */
export interface GrpcParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
}

export interface GrpcTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface GrpcInferInput {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcTensorContents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, GrpcParameter>;
  inputs: GrpcInferInput[];
  outputs: Array<{ name: string; parameters?: Record<string, GrpcParameter> }>;
  raw_input_contents: Buffer[];
}

export interface GrpcInferOutput {
  name: string;
  datatype: string;
  shape: number[];
  contents?: GrpcTensorContents;
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: GrpcInferOutput[];
  raw_output_contents: Buffer[];
}

/** The `contents` field each datatype is carried in. */
const CONTENTS_FIELD: Record<string, keyof GrpcTensorContents> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

function parameterValue(p: GrpcParameter): boolean | number | string | null {
  switch (p.parameter_choice) {
    case 'bool_param':
      return p.bool_param ?? false;
    case 'int64_param':
      return p.int64_param ?? 0;
    case 'string_param':
      return p.string_param ?? '';
    default:
      return null;
  }
}

function parametersJson(p: Record<string, GrpcParameter> | undefined): Record<string, unknown> | undefined {
  if (!p || Object.keys(p).length === 0) return undefined;
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, parameterValue(v)]));
}

/** The contents fields that hold values. */
function filledFields(c: GrpcTensorContents | null | undefined): Array<keyof GrpcTensorContents> {
  if (!c) return [];
  return (Object.keys(c) as Array<keyof GrpcTensorContents>).filter((k) => (c[k]?.length ?? 0) > 0);
}

/**
 * Little-endian bytes → the values of `datatype`, decoded as the binary tensor extension's are
 * (`decodeRawData`): a typed array for the fixed-size datatypes (FP16/BF16 widened to the float32
 * numbers they denote, BOOL one byte per element, INT64/UINT64 checked within ±2^53), for BYTES each
 * element a 4-byte little-endian length and its bytes, as tritonclient serializes them, kept as bytes.
 * The byte count (BYTES: the element count) must be what the shape needs.
 */
function decodeRaw(bytes: Buffer, datatype: string, shape: number[], where: string): RawNumbers | unknown[] {
  const count = shape.reduce((a, b) => a * b, 1);
  if (datatype === 'BYTES') {
    const elements = decodeRawData(bytes, datatype, where);
    if (elements.length !== count) {
      throw bad(`${where}: ${elements.length} BYTES elements for shape [${shape.join(', ')}], which needs ${count}`);
    }
    return elements;
  }
  const width = ELEMENT_BYTES[datatype];
  if (width === undefined) throw bad(`${where}: datatype ${datatype} cannot be sent as raw contents`);
  if (bytes.byteLength !== count * width) {
    throw bad(`${where}: ${bytes.byteLength} bytes for shape [${shape.join(', ')}] of ${datatype}, which needs ${count * width}`);
  }
  return decodeRawData(bytes, datatype, where);
}

/**
 * A ModelInferRequest as the REST inference body (for `parseInferRequest`), and whether it used raw
 * contents (then the answer does too). Field names in messages are the proto's (`inputs[0].contents`,
 * `raw_input_contents[1]`).
 */
export function inferBodyFromGrpc(req: GrpcInferRequest): { body: Record<string, unknown>; raw: boolean } {
  const raw = req.raw_input_contents.length > 0;
  // An input in shared memory has no contents of either kind (its parameters name the region).
  const inShm = req.inputs.map((t) => placedInSharedMemory(parametersJson(t.parameters)));
  const carried = inShm.filter((s) => !s).length;
  if (raw && req.raw_input_contents.length !== carried) {
    throw bad(
      `raw_input_contents: ${req.raw_input_contents.length} entries for ${carried} inputs not in shared memory; ` +
        'when raw contents are used every such input must have one, in the order of inputs',
    );
  }
  let next = 0;
  const inputs = req.inputs.map((t, i) => {
    const where = `inputs[${i}]`;
    const filled = filledFields(t.contents);
    let datatype = t.datatype;
    let data: RawNumbers | unknown[] | undefined;
    if (inShm[i]) {
      if (filled.length > 0) throw bad(`${where}.contents: must be empty for an input in shared memory`);
      data = undefined;
    } else if (raw) {
      if (filled.length > 0) throw bad(`${where}.contents: must be empty when raw_input_contents is used`);
      const k = next++;
      data = decodeRaw(req.raw_input_contents[k]!, t.datatype, t.shape, `raw_input_contents[${k}]`);
      if (datatype === 'FP16' || datatype === 'BF16') datatype = 'FP32';
    } else {
      const field = CONTENTS_FIELD[t.datatype];
      if (field === undefined && (t.datatype === 'FP16' || t.datatype === 'BF16')) {
        throw bad(`${where}.contents: ${t.datatype} has no contents field; send it in raw_input_contents`);
      }
      const wrong = filled.filter((f) => f !== field);
      if (field !== undefined && wrong.length > 0) {
        throw bad(`${where}.contents: datatype ${t.datatype} is carried in ${field}, not ${wrong.join(', ')}`);
      }
      const values = field ? (t.contents?.[field] ?? []) : [];
      // bytes_contents stay bytes (any octets, not only UTF-8), as BYTES from the binary extension do
      data = [...(values as unknown[])];
    }
    const parameters = parametersJson(t.parameters);
    return { name: t.name, datatype, shape: t.shape, ...(data ? { data } : {}), ...(parameters ? { parameters } : {}) };
  });
  const parameters = parametersJson(req.parameters);
  const body: Record<string, unknown> = {
    ...(req.id ? { id: req.id } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
  };
  if (req.outputs.length > 0) {
    body.outputs = req.outputs.map((o) => {
      const p = parametersJson(o.parameters);
      return { name: o.name, ...(p ? { parameters: p } : {}) };
    });
  }
  return { body, raw };
}

function contentsOf(t: HostTensor): GrpcTensorContents {
  if (Array.isArray(t.data)) return { bytes_contents: t.data.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)) };
  if (t.dtype === 'bool') return { bool_contents: Array.from(t.data, (v) => v !== 0) };
  if (t.dtype === 'int32') return { int_contents: Array.from(t.data) };
  if (t.dtype === 'int64') return { int64_contents: Array.from(t.data) };
  if (t.dtype === 'float64') return { fp64_contents: Array.from(t.data) };
  return { fp32_contents: Array.from(t.data) };
}

/** The ModelInferResponse: outputs in signature order, filtered by the request's outputs, `id` echoed. */
export function grpcInferResponse(
  result: InferenceResult,
  request: Pick<ParsedInferRequest, 'id' | 'outputs'>,
  raw: boolean,
  inSharedMemory: ReadonlySet<string> = new Set(),
): GrpcInferResponse {
  const wanted = request.outputs ? new Set(request.outputs) : null;
  const outputs = result.outputs.filter((t) => !wanted || wanted.has(t.name));
  return {
    model_name: result.model.name,
    model_version: String(result.model.version),
    id: request.id ?? '',
    outputs: outputs.map((t) => ({
      name: t.name,
      datatype: oipDatatype(t.dtype),
      shape: [...t.shape],
      ...(raw || inSharedMemory.has(t.name) ? {} : { contents: contentsOf(t) }),
    })),
    // Triton keeps one raw entry per output, empty for an output written to shared memory.
    raw_output_contents: raw ? outputs.map((t) => (inSharedMemory.has(t.name) ? Buffer.alloc(0) : tensorBytes(t))) : [],
  };
}
