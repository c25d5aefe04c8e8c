import { platformSuite } from './platform-suite';

void platformSuite('redis');
