// The storage ports, one per concern, gathered for importers. Each has its own file and contract suite
// (test/contracts/): tasks, task event streams, conversations, push configs; jobs are in src/queue/job-store.ts.
import type { ConversationStore } from './conversation-store.js';
import type { GatewayTaskStore } from './task-store.js';
import type { TaskEventStore } from './task-event-store.js';

export { anonymousScope } from './task-store.js';
export type { GatewayTaskStore, RetentionCutoffs, ScopeResolver, StoreScope } from './task-store.js';
export type { LiveEvents, LoggedEvent, TaskEventRecord, TaskEventStore } from './task-event-store.js';
export type { ContextSession, ConversationLock, ConversationStore } from './conversation-store.js';
export type { PushConfigStore } from './push-config-store.js';

/**
 * The embedded stores (memory, SQLite) keep tasks, their event streams and conversation bindings in one
 * place (one SQLite connection), so one object serves the three ports; retention then removes a task and its
 * events together.
 */
export type EmbeddedStore = GatewayTaskStore & TaskEventStore & ConversationStore;
