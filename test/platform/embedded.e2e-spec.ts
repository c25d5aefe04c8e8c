import { platformSuite } from './platform-suite';

void platformSuite('embedded');
