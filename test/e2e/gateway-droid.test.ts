import { backendSuite } from './helpers/gateway-suite.js';

backendSuite('droid', { resume: 'replay', reportsTokens: true });
