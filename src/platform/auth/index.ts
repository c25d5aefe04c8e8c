export * from './api-roles';
export { ApiKeysService } from './api-keys.service';
export type { AuthenticatedRequest } from './api-key.guard';
