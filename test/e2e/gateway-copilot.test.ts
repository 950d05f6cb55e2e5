import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('copilot', { resume: 'native', reportsTokens: false });
