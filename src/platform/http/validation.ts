import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import type { FieldError } from './problem-details';
import { unstorableFieldIn } from './stored-strings';
import { ValidationProblemException } from './validation-problem';

export { ValidationProblemException } from './validation-problem';

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

/**
 * A DTO body is stored in some form (rows, jsonb options, queued jobs, audit events), and
 * PostgreSQL holds no U+0000 nor unpaired surrogates: such a string anywhere in it is a 400 naming
 * the field. Bodies without a DTO class (predictions, feedback) are left to their own parsers.
 */
class KilnValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && this.toValidate(metadata)) {
      const unstorable = unstorableFieldIn(value, '');
      if (unstorable) throw new ValidationProblemException([unstorable]);
    }
    return super.transform(value, metadata);
  }
}

/** Global validation: DTOs are enforced, unknown properties rejected, payloads transformed to classes. */
export function kilnValidationPipe(): ValidationPipe {
  return new KilnValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new ValidationProblemException(flattenValidationErrors(errors)),
  });
}
