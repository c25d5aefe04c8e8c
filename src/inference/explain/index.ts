/**
 * Per-feature explanations for Kiln-trained models (the record API's `?explain=true`): integrated
 * gradients through the TF.js model, attributed back to the source features. Framework-free.
 *
 *   const x = Preprocessor.fromJSON(preprocessing).transform(records)     // rows × width
 *   explainRecords(model, preprocessing, target, x, records.length, { steps, baseline, outputClass })
 */
export {
  DEFAULT_EXPLAIN_STEPS,
  MAX_EXPLAIN_PATH_POINTS,
  MAX_EXPLAIN_ROWS,
  MAX_EXPLAIN_STEPS,
  ExplainInputError,
  explainRecords,
} from './integrated-gradients';
export type { ExplainOptions, Explanation } from './integrated-gradients';
export { defaultBaseline, featureColumns } from './feature-columns';
export type { FeatureColumns } from './feature-columns';
