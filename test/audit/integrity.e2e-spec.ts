import { integritySuite } from './integrity-suite';

void integritySuite('postgres');
