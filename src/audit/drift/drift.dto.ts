/** Request bodies and query of the drift API. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsObject, IsOptional, IsUUID, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { PROMOTE_MODES, type PromoteMode } from '../../models';

export const MAX_HISTORY = 500;

export class OnDriftDto {
  @ApiProperty({
    format: 'uuid',
    description: "Dataset whose newest ready version the retrain uses (the version's training job spec is repeated on it)",
  })
  @IsUUID()
  retrainFromDatasetId!: string;

  @ApiPropertyOptional({ enum: PROMOTE_MODES, default: 'if-better', description: 'Promotion of the retrained version' })
  @IsOptional()
  @IsIn(PROMOTE_MODES)
  promote?: PromoteMode;
}

export class PutDriftSettingsDto {
  @ApiProperty({ type: OnDriftDto, nullable: true, description: 'The closed loop on a drift verdict; null turns it off' })
  @ValidateIf((o: PutDriftSettingsDto) => o.onDrift !== null)
  @IsDefined({ message: 'onDrift is required (an object, or null to turn the closed loop off)' })
  @IsObject()
  @ValidateNested()
  @Type(() => OnDriftDto)
  onDrift!: OnDriftDto | null;
}

export class DriftHistoryQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_HISTORY, default: 20, description: 'Reports in `history`, newest first' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_HISTORY)
  limit?: number;
}
