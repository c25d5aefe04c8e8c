import { batchPredictionsSuite } from './batch-predictions-suite';

void batchPredictionsSuite('postgres');
