import { batchPredictionsSuite } from './batch-predictions-suite';

void batchPredictionsSuite('redis');
