import { integritySuite } from './integrity-suite';

void integritySuite('redis');
