import { SetMetadata } from '@nestjs/common';

/** API key roles. `admin` may do everything; the others are scoped (see DESIGN.md, "APIs"). */
export const API_ROLES = ['admin', 'developer', 'predictor', 'auditor'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export const ROLES_KEY = 'kiln:roles';
export const PUBLIC_KEY = 'kiln:public';
export const STREAM_TOKEN_KEY = 'kiln:stream-token';

/** Roles allowed on a route or controller (admin is always allowed). Without it, any valid key is. */
export const Roles = (...roles: ApiRole[]) => SetMetadata(ROLES_KEY, roles);

/** A route that needs no API key (health probes). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/**
 * A route a browser opens with `EventSource` (which cannot send headers): besides the API key it accepts
 * `?token=<stream token>` from `POST /api/stream-tokens`, bound to this exact path (roles still apply).
 */
export const AcceptsStreamToken = () => SetMetadata(STREAM_TOKEN_KEY, true);

/** The authenticated caller, attached to the request by the guard. */
export interface Principal {
  id: string;
  keyId: string;
  name: string;
  role: ApiRole;
}
