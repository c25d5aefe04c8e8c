import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { ValidationProblemException } from '../platform/http/validation';

/** Version numbers are PostgreSQL `integer` (int4) columns: 1 … 2^31 − 1. Larger ones can never exist. */
export const MAX_VERSION_NUMBER = 2_147_483_647;

/** Why a value is no version number (the selector's text too: `SELECTOR_REASONS.version`). */
export const VERSION_NUMBER_REASON = `must be an integer from 1 to ${MAX_VERSION_NUMBER}`;

/** The version a decimal text names, or null when it is not an integer in 1 … MAX_VERSION_NUMBER. */
export function parseVersionNumber(text: string): number | null {
  if (!/^[1-9]\d{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_VERSION_NUMBER ? n : null;
}

/** Path parameter `:version` of the registry API: 400 naming the parameter unless it is a possible version. */
@Injectable()
export class ParseVersionPipe implements PipeTransform<string, number> {
  transform(value: string, metadata: ArgumentMetadata): number {
    const n = parseVersionNumber(String(value));
    if (n === null) {
      const field = metadata.data ?? 'version';
      throw new ValidationProblemException([{ field, reason: VERSION_NUMBER_REASON }]);
    }
    return n;
  }
}
