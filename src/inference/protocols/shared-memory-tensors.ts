/**
 * Triton's system shared memory extension, the inference side (same on REST and gRPC): an input with
 * `parameters.shared_memory_region` (+ `shared_memory_byte_size`, optional `shared_memory_offset`)
 * is read from that registered region, little-endian and row-major as binary tensor data is; an
 * output requested with them is written into the region instead of the answer, which then lists it
 * without `data` (name, datatype, shape, and the region and byte count it was written to).
 *
 * Regions are held from the moment the request names them until its answer is written, so an
 * unregister meanwhile cannot close them under it (system-shared-memory.ts). Checks and messages
 * follow Triton's HTTP server: one of `data`, `binary_data_size`, `shared_memory_region` per input;
 * an output in shared memory is not also `binary_data` nor `classification`; ranges stay inside the
 * region; an output larger than its `shared_memory_byte_size` is refused.
 */
import { BadRequestException } from '@nestjs/common';
import type { HostTensor } from '../runtime/served-model';
import type { RegionLease, SystemSharedMemory } from '../runtime/system-shared-memory';
import { inputWithRawData, tensorBytes, type BinaryOutputChoice } from './binary-tensors';
import { isPlainObject } from './tensor-values';

const REGION = 'shared_memory_region';
const BYTE_SIZE = 'shared_memory_byte_size';
const OFFSET = 'shared_memory_offset';

interface RegionRange {
  region: string;
  offset: number;
  byteSize: number;
}

/** A request's use of shared memory: inputs already read into its body, outputs still to write. */
export interface SharedMemoryRequest {
  /** The request body with every shared-memory input as `data`. */
  body: unknown;
  /** Outputs to write into regions, by output name. */
  outputs: ReadonlyMap<string, RegionRange>;
  /** Writes the outputs the request placed in shared memory (400 when one does not fit): call before answering. */
  write(outputs: readonly HostTensor[]): Promise<void>;
  /** Lets the regions go (after the answer, whatever it was). */
  release(): Promise<void>;
}

function bad(message: string): BadRequestException {
  return new BadRequestException(message);
}

/** The region range named by `parameters`, or undefined when it names none. */
function rangeOf(parameters: unknown, where: string): RegionRange | undefined {
  if (!isPlainObject(parameters) || parameters[REGION] === undefined) return undefined;
  const region = parameters[REGION];
  if (typeof region !== 'string' || region === '') throw bad(`${where}.parameters.${REGION}: must be a region name (a string)`);
  const nonNegative = (field: string, fallback?: number): number => {
    const v = parameters[field] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      const required = fallback === undefined ? 'required with shared_memory_region, ' : '';
      throw bad(`${where}.parameters.${field}: ${required}a non-negative integer (bytes)`);
    }
    return v as number;
  };
  return { region, byteSize: nonNegative(BYTE_SIZE), offset: nonNegative(OFFSET, 0) };
}

function usesSharedMemory(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  const named = (list: unknown) =>
    Array.isArray(list) && list.some((t) => isPlainObject(t) && isPlainObject(t.parameters) && t.parameters[REGION] !== undefined);
  return named(body.inputs) || named(body.outputs);
}

/**
 * Reads the shared-memory inputs of an inference body and notes its shared-memory outputs; null when
 * the body names no region (the common case costs one scan). Throws 400s naming the field.
 */
export async function readSharedMemoryInputs(body: unknown, memory: SystemSharedMemory): Promise<SharedMemoryRequest | null> {
  if (!usesSharedMemory(body) || !isPlainObject(body)) return null;
  const inputRanges = new Map<number, RegionRange>();
  (Array.isArray(body.inputs) ? body.inputs : []).forEach((raw: unknown, i) => {
    if (!isPlainObject(raw)) return;
    const range = rangeOf(raw.parameters, `inputs[${i}]`);
    if (!range) return;
    const set = [
      raw.data !== undefined ? "'data'" : null,
      isPlainObject(raw.parameters) && raw.parameters.binary_data_size !== undefined ? "'binary_data_size'" : null,
      `'${REGION}'`,
    ].filter(Boolean);
    if (set.length > 1) {
      throw bad(
        `inputs[${i}]: Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', ` +
          `'${REGION}' in 'parameters'. But set ${set.join(' ')}`,
      );
    }
    inputRanges.set(i, range);
  });
  const outputs = new Map<string, RegionRange>();
  (Array.isArray(body.outputs) ? body.outputs : []).forEach((raw: unknown, i) => {
    if (!isPlainObject(raw)) return;
    const range = rangeOf(raw.parameters, `outputs[${i}]`);
    if (!range || typeof raw.name !== 'string') return;
    const parameters = raw.parameters as Record<string, unknown>;
    if (parameters.classification !== undefined) throw bad(`outputs[${i}]: Output can't set both '${REGION}' and 'classification'`);
    if (parameters.binary_data === true) throw bad(`outputs[${i}]: Output can't set both '${REGION}' and 'binary_data'`);
    outputs.set(raw.name, range);
  });
  const held = memory.acquire([...inputRanges.values(), ...outputs.values()].map((r) => r.region));
  const lease = (r: RegionRange): RegionLease => held.leases.get(r.region)!;
  try {
    const inputs = await Promise.all(
      (body.inputs as unknown[]).map(async (raw, i) => {
        const range = inputRanges.get(i);
        if (!range) return raw;
        const bytes = await lease(range).read(range.offset, range.byteSize);
        return inputWithRawData(raw as Record<string, unknown>, bytes, `inputs[${i}]`, [BYTE_SIZE, REGION, OFFSET]);
      }),
    );
    return {
      body: { ...body, inputs },
      outputs,
      write: async (tensors) => {
        for (const t of tensors) {
          const range = outputs.get(t.name);
          if (!range) continue;
          const bytes = tensorBytes(t);
          if (bytes.length > range.byteSize) {
            throw bad(
              `shared memory size specified with the request for output '${t.name}' (${range.byteSize} bytes) ` +
                `should be at least ${bytes.length} bytes to hold the results`,
            );
          }
          await lease(range).write(range.offset, bytes);
        }
      },
      release: held.release,
    };
  } catch (e) {
    await held.release();
    throw e;
  }
}

/**
 * The answer's outputs that went to shared memory lose `data` and say where they went; the binary
 * output choice (if any) leaves them out.
 */
export function sharedMemoryOutputs<O extends { name: string; parameters?: Record<string, unknown>; data?: unknown }>(
  outputs: O[],
  placed: ReadonlyMap<string, RegionRange>,
  written: readonly HostTensor[],
): Array<Omit<O, 'data'> & { data?: O['data']; parameters?: Record<string, unknown> }> {
  return outputs.map((o) => {
    const range = placed.get(o.name);
    if (!range) return o;
    const { data: _data, ...rest } = o;
    const tensor = written.find((t) => t.name === o.name);
    const byteSize = tensor ? tensorBytes(tensor).length : 0;
    return {
      ...rest,
      parameters: {
        ...(o.parameters ?? {}),
        [REGION]: range.region,
        [BYTE_SIZE]: byteSize,
        ...(range.offset ? { [OFFSET]: range.offset } : {}),
      },
    };
  });
}

/** The binary output choice without the outputs placed in shared memory (null when nothing binary is left). */
export function withoutSharedMemoryOutputs(
  choice: BinaryOutputChoice | null,
  placed: ReadonlyMap<string, RegionRange> | undefined,
): BinaryOutputChoice | null {
  if (!choice || !placed?.size) return choice;
  const byName = new Map(choice.byName);
  for (const name of placed.keys()) byName.set(name, false);
  return { all: choice.all, byName };
}

/** Whether a gRPC input's parameters place it in shared memory (it then has no raw contents). */
export function placedInSharedMemory(parameters: Record<string, unknown> | undefined): boolean {
  return parameters?.[REGION] !== undefined;
}
