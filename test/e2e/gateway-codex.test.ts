import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('codex', { resume: 'native', reportsTokens: true });
