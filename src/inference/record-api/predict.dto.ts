import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Records of the README's walkthrough model (`penguins`, trained on vega-datasets' penguins.json with
 * target Species): the example Swagger UI pre-fills, which succeeds against that model. Another model
 * takes its own feature names.
 */
export const PENGUIN_RECORDS_EXAMPLE = [
  {
    Island: 'Torgersen',
    'Beak Length (mm)': 39.1,
    'Beak Depth (mm)': 18.7,
    'Flipper Length (mm)': 181,
    'Body Mass (g)': 3750,
    Sex: 'MALE',
  },
  { Island: 'Biscoe', 'Beak Length (mm)': 49.1, 'Beak Depth (mm)': 14.5, 'Flipper Length (mm)': 212, 'Body Mass (g)': 4625, Sex: 'FEMALE' },
];

/** Documents the body; the handler checks it by hand (the validation pipe would deep-copy every record). */
export class PredictRequestDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    minItems: 1,
    example: PENGUIN_RECORDS_EXAMPLE,
    description:
      "One object per row, keyed by the model's feature names: the `signature.features` of its version " +
      '(GET /api/models/{name}/versions/{version}); the example fits the walkthrough’s `penguins` model',
  })
  records!: Record<string, unknown>[];
}

export class PredictionDto {
  @ApiPropertyOptional({ description: 'Classification: the predicted class', example: 'Adelie' }) label?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'number' }, description: 'Classification: class → probability' })
  probabilities?: Record<string, number>;
  @ApiPropertyOptional({ description: 'Classification: probability of the label (binary: of the positive class)' }) score?: number;
  @ApiPropertyOptional({ description: 'Regression: the predicted value' }) value?: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'With explain=true: integrated-gradients {attributions: {feature: number}, baseline, …}',
  })
  explanation?: Record<string, unknown>;
}

export class PredictResponseDto {
  @ApiProperty({ example: 'penguins' }) model!: string;
  @ApiProperty({ description: 'The version that answered' }) version!: number;
  @ApiProperty({ description: 'The audit log key of this call (GET /api/audit/predictions/{requestId})' }) requestId!: string;
  @ApiProperty({ type: [PredictionDto], description: 'One per record, in order' }) predictions!: PredictionDto[];
}

export class ShadowSummaryDto {
  @ApiProperty() calls!: number;
  @ApiProperty() errors!: number;
  @ApiPropertyOptional({ nullable: true, type: Number }) meanAgreement!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) maxAbsDiff!: number | null;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } }) recent!: unknown[];
}
