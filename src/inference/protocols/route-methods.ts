/**
 * Which methods a serving protocol's paths take: each protocol file declares its table
 * (`TF_SERVING_ROUTES`, `OIP_ROUTES`); the TF Serving controller and the 405 hook (wrong-method.ts)
 * consume them. Its own file so that neither side imports the other.
 */
import { HttpException, HttpStatus } from '@nestjs/common';

export interface RouteMethods {
  /** Matched against the path without the query string. */
  pattern: RegExp;
  methods: string[];
}

/** The methods a protocol path accepts (empty when it is no protocol route). */
export function allowedMethods(path: string, routes: readonly RouteMethods[]): string[] {
  const methods = new Set<string>();
  for (const r of routes) if (r.pattern.test(path)) r.methods.forEach((m) => methods.add(m));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods];
}

export function methodNotAllowed(method: string, path: string, allow: readonly string[]): HttpException {
  const use = allow.filter((m) => m !== 'HEAD').join(' or ');
  return new HttpException(`${method} is not allowed on ${path}; use ${use}`, HttpStatus.METHOD_NOT_ALLOWED);
}
