import { BadRequestException } from '@nestjs/common';
import type { FieldError } from './problem-details';

/**
 * A 400 that carries field-level reasons; the error filter renders them as problem+json `errors`.
 * Its own file so that stored-strings.ts (which throws it) and validation.ts (which uses stored-strings) form no cycle.
 */
export class ValidationProblemException extends BadRequestException {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.reason}`).join('; '));
  }
}
