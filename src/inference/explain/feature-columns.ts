import type * as ml from '../../ml';

/**
 * Where each source feature lives in the preprocessed model input, and the default explanation
 * baseline ("a typical record") in that space. Mirrors the column layout of the engine's
 * `Preprocessor` (src/ml/preprocessing.ts):
 *
 *   numeric      1 column (standardised) + 1 `__missing` indicator when the spec has one
 *   boolean      1 column (0/1) + 1 `__missing` indicator when the spec has one
 *   categorical  one column per vocabulary value (most frequent first) + 1 out-of-vocabulary column
 */
export interface FeatureColumns {
  feature: string;
  /** First column of the feature in the model input. */
  start: number;
  /** Number of columns (one-hot and indicator columns included). */
  width: number;
}

/** The columns of every source feature, in input order; checks they add up to `spec.width`. */
export function featureColumns(spec: ml.PreprocessingSpec): FeatureColumns[] {
  const out: FeatureColumns[] = [];
  let start = 0;
  for (const f of spec.features) {
    const width = f.kind === 'categorical' ? f.vocabulary.length + 1 : f.missingIndicator ? 2 : 1;
    out.push({ feature: f.name, start, width });
    start += width;
  }
  if (start !== spec.width) {
    throw new Error(`preprocessing spec is inconsistent: its features take ${start} columns, width is ${spec.width}`);
  }
  return out;
}

/**
 * The default baseline, a typical record in preprocessed space: every numeric feature at its
 * training mean (0 after standardisation), every boolean at its fill value (the training mode),
 * every categorical at its most frequent training value (`vocabulary[0]`; the out-of-vocabulary
 * column when the vocabulary is empty), all missing indicators 0.
 */
export function defaultBaseline(spec: ml.PreprocessingSpec): Float32Array {
  const b = new Float32Array(spec.width);
  const cols = featureColumns(spec);
  spec.features.forEach((f, i) => {
    const { start } = cols[i];
    if (f.kind === 'boolean') b[start] = f.fill;
    else if (f.kind === 'categorical') b[start] = 1; // vocabulary[0], or the OOV column when there is no vocabulary
  });
  return b;
}
