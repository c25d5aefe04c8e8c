import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { API_ROLES, ApiRole } from './api-roles';
import type { ApiKeyEntity } from './api-key.entity';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'fraud-scoring service', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  // \p{Cc}: control characters (NUL, C0, DEL, C1); \p{Cs}: a UTF-16 surrogate not part of a pair
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    message: 'must not contain control characters (such as NUL) or unpaired UTF-16 surrogates',
  })
  name!: string;

  @ApiProperty({ enum: API_ROLES })
  @IsIn(API_ROLES)
  role!: ApiRole;
}

export class ApiKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'public part of the key, safe to log' }) keyId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: API_ROLES }) role!: ApiRole;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) createdBy!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) lastUsedAt!: string | null;

  static from(e: ApiKeyEntity): ApiKeyDto {
    return {
      id: e.id,
      keyId: e.keyId,
      name: e.name,
      role: e.role,
      createdAt: e.createdAt.toISOString(),
      createdBy: e.createdBy,
      revokedAt: e.revokedAt?.toISOString() ?? null,
      lastUsedAt: e.lastUsedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'the key itself: shown only in this response, stored hashed' })
  key!: string;
}
