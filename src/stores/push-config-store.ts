import type {
  PushNotificationStore,
  ServerCallContext,
  StoredPushNotificationConfig,
} from '@a2a-js/sdk/server';

/**
 * The push configs port: the SDK's `PushNotificationStore` with `loadWithMetadata` always present (each webhook
 * keeps the body shape of the version it was registered with), plus retention and close.
 *
 * Scoping follows the task stores: a config belongs to the (tenant, owner) of the call that saved it and only
 * that scope sees it, except an admin scope, which loads and deletes every owner's configs of a task.
 *
 * Ids: a config saved without an id gets a UUID, except over 0.3, where it gets the task id. That is what the
 * 0.3 Python SDK does and what the JS SDK's own `delete` without an id looks for, so a 0.3 client that sets,
 * gets and deletes "the" config of a task without naming it finds the same one (a second id-less 0.3 set
 * replaces it, as in 0.3). Contract suite: `pushConfigStoreContract` in test/contracts/push-config-store.ts.
 */
export interface PushConfigStore extends PushNotificationStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  loadWithMetadata(taskId: string, context: ServerCallContext): Promise<StoredPushNotificationConfig[]>;
  /** Removes every config of a task whatever its owner (task retention); returns how many were removed. */
  deleteTask(taskId: string): Promise<number>;
  close(): Promise<void>;
}
