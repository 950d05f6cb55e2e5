// The embedded memory store against every port contract it serves.
import { MemoryJobStore } from '../../src/queue/job-store.js';
import { MemoryTaskStore } from '../../src/stores/memory-store.js';
import { conversationStoreContract } from '../contracts/conversation-store.js';
import { embeddedStoreChecks } from '../contracts/embedded-store.js';
import { jobStoreContract } from '../contracts/job-store.js';
import { taskEventStoreContract } from '../contracts/task-event-store.js';
import { taskStoreContract } from '../contracts/task-store.js';

const memory = (opts: Parameters<Parameters<typeof taskStoreContract>[1]>[0] = {}) => {
  const store = new MemoryTaskStore(opts.scope ? { scope: opts.scope } : {});
  return Promise.resolve({ store, cleanup: () => store.close() });
};

taskStoreContract('memory', memory);
taskEventStoreContract('memory', () => memory());
conversationStoreContract('memory', () => memory());
embeddedStoreChecks('memory', () => memory());
jobStoreContract('memory', () => {
  const store = new MemoryJobStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
