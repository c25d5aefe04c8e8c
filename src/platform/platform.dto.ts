import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class PingDto {
  @ApiProperty({ example: 'hello', maxLength: 200 })
  @IsString()
  @MaxLength(200)
  message!: string;

  @ApiPropertyOptional({ description: 'the worker waits this long before answering', minimum: 0, maximum: 60000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  delayMs?: number;
}
