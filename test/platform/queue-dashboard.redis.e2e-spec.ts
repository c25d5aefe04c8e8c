import { queueDashboardSuite } from './queue-dashboard-suite';

void queueDashboardSuite('redis');
