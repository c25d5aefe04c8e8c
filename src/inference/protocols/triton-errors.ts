/**
 * Triton's wording for the /v2 errors its clients look for. tritonclient's examples and Triton's own
 * tests recognise an unknown model by the text `Request for unknown model` (Triton core:
 * `Request for unknown model: 'name' is not found`); Kiln keeps its own reason after that prefix.
 */
import { NotFoundException } from '@nestjs/common';

/** Rethrows a 404 about model `name` in Triton's words; any other error as it is. */
export function unknownModelInTritonWords(name: string): (err: unknown) => never {
  return (err: unknown): never => {
    if (!(err instanceof NotFoundException)) throw err;
    const reason = err.message;
    throw new NotFoundException(
      reason === `model ${name} not found` ? `Request for unknown model: '${name}' is not found` : `Request for unknown model: ${reason}`,
    );
  };
}

const UINT64_MAX = 2n ** 64n - 1n;
const ELEMENT_BYTES: Record<string, bigint> = { BOOL: 1n, UINT8: 1n, INT8: 1n, UINT16: 2n, INT16: 2n, FP16: 2n, BF16: 2n };

/**
 * Triton's 400s for a shape whose element count or byte size does not fit in 64 bits (qa/L0_http
 * http_test.py test_buffer_size_overflow): `… causes total element count to exceed maximum size of …`
 * and `byte size overflow for input '…'`. Null when the shape fits (or is no list of integers at all:
 * the OIP codec names that).
 */
export function shapeOverflowInTritonWords(shape: unknown, datatype: unknown, name: unknown): string | null {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) return null;
  const count = (shape as number[]).reduce((a, d) => a * BigInt(d), 1n);
  const label = typeof name === 'string' ? name : '';
  if (count > UINT64_MAX) {
    return `input '${label}' shape [${shape.join(', ')}] causes total element count to exceed maximum size of ${UINT64_MAX}`;
  }
  const width = typeof datatype === 'string' && datatype !== 'BYTES' ? (ELEMENT_BYTES[datatype] ?? (/64$/.test(datatype) ? 8n : 4n)) : 1n;
  if (count * width > UINT64_MAX) return `byte size overflow for input '${label}'`;
  return null;
}
