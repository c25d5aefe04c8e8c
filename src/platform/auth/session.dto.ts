import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { API_ROLES, ApiRole } from './api-roles';
import { STREAM_TOKEN_MAX_PATH } from './stream-tokens.service';

export class CreateStreamTokenDto {
  @ApiProperty({
    description: 'The path the token opens, exactly as it will be requested, without query (an event stream)',
    example: '/api/training-jobs/0b9d2f61-5b3e-4c52-9d8e-2f1a6c1f3e10/events',
    maxLength: STREAM_TOKEN_MAX_PATH,
  })
  @IsString()
  @MaxLength(STREAM_TOKEN_MAX_PATH)
  @Matches(/^\/[^?#\s\p{Cc}]*$/u, {
    message: 'must be an absolute path starting with / (no query, fragment, spaces or control characters)',
  })
  path!: string;
}

export class StreamTokenDto {
  @ApiProperty({ description: 'Pass as `?token=` on `path`; usable for 60 s to open the stream' }) token!: string;
  @ApiProperty() path!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

export class SessionDto {
  @ApiProperty({ description: 'public part of the key' }) keyId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: API_ROLES }) role!: ApiRole;
}
