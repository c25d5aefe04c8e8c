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
