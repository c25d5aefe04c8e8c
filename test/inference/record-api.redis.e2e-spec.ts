import { recordApiSuite } from './record-api-suite';

void recordApiSuite('redis');
