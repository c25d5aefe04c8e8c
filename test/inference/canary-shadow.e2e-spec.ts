import { canaryShadowSuite } from './canary-shadow-suite';

void canaryShadowSuite('postgres');
