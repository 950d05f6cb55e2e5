import { MemoryTaskStore } from '../../src/stores/memory-store.js';
import { runTaskStoreContract } from '../helpers/task-store-contract.js';

runTaskStoreContract('memory', ({ scope }) =>
  Promise.resolve({
    store: new MemoryTaskStore(scope ? { scope } : {}),
    cleanup: () => Promise.resolve(),
  }),
);
