import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('claude', { resume: 'native', reportsTokens: true });
