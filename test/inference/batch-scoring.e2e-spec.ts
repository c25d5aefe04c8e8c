import { batchScoringSuite } from './batch-scoring-suite';

void batchScoringSuite('postgres');
