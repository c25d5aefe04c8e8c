import { DynamicModule, Module } from '@nestjs/common';
import type { Role } from '../config/process-roles';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeyAuthenticator, ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { SessionController } from './session.controller';
import { StreamTokensService } from './stream-tokens.service';

/**
 * Every process authenticates its own HTTP calls (the guard reads the shared `api_keys` table; a
 * revocation reaches every replica as a change event) and answers `/api/session` and
 * `/api/stream-tokens`. Managing keys (`/api/keys`: create, list, revoke) belongs to the gateway, the
 * one app clients manage Kiln through; a split domain app does not serve it.
 */
@Module({})
export class AuthModule {
  static forRoles(roles: readonly Role[]): DynamicModule {
    return {
      module: AuthModule,
      imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
      controllers: roles.includes('gateway') ? [ApiKeysController, SessionController] : [SessionController],
      providers: [ApiKeysService, StreamTokensService, ApiKeyAuthenticator, { provide: APP_GUARD, useClass: ApiKeyGuard }],
      exports: [ApiKeysService, ApiKeyAuthenticator],
    };
  }
}
