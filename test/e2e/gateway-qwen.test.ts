import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('qwen', { resume: 'native', reportsTokens: true });
