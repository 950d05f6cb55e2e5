import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('gemini', { resume: 'native', reportsTokens: true });
