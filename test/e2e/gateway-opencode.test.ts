import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('opencode', { resume: 'native', reportsTokens: true });
