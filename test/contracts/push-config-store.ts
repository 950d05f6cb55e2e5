// The push configs port's contract (PushConfigStore, src/stores/push-config-store.ts): one suite every
// implementation runs (memory, SQLite, Redis). Call `pushConfigStoreContract(name, make)` from a test file.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { ServerCallContext, type User } from '@a2a-js/sdk/server';
import type { PushConfigStore } from '../../src/stores/push-config-store.js';
import { anonymousScope, type ScopeResolver } from '../../src/stores/types.js';
import { nextId } from '../helpers/tasks.js';

export interface PushStoreUnderTest {
  store: PushConfigStore;
  cleanup(): Promise<void>;
}

export type MakePushStore = (opts: { scope?: ScopeResolver }) => Promise<PushStoreUnderTest>;

/** `anonymousScope`, plus the user `root` as admin. */
export const pushContractScope: ScopeResolver = (context) => ({
  ...anonymousScope(context),
  admin: context.user?.userName === 'root',
});

/** A call context as the SDK builds it: the version the caller asked for, its user and tenant. */
export function pushContext(version: '1.0' | '0.3', userName?: string, tenant?: string): ServerCallContext {
  const user: User | undefined = userName === undefined ? undefined : { isAuthenticated: true, userName };
  return new ServerCallContext({
    requestedVersion: version,
    ...(user ? { user } : {}),
    ...(tenant === undefined ? {} : { tenant }),
  });
}

export function pushConfig(fields: Partial<TaskPushNotificationConfig> = {}): TaskPushNotificationConfig {
  return {
    tenant: '',
    id: '',
    taskId: '',
    url: 'https://hooks.example.com/a2a',
    token: '',
    authentication: undefined,
    ...fields,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function pushConfigStoreContract(name: string, make: MakePushStore): void {
  void describe(`push config store contract: ${name}`, () => {
    let store: PushConfigStore;
    let subject: PushStoreUnderTest;
    const alice = pushContext('1.0', 'alice');
    const bob = pushContext('1.0', 'bob');

    beforeEach(async () => {
      subject = await make({ scope: pushContractScope });
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    void test('save assigns a UUID to a 1.0 config without an id, in place, and load returns it', async () => {
      const taskId = nextId();
      const config = pushConfig({ token: 'tok', authentication: { scheme: 'Bearer', credentials: 'c' } });
      await store.save(taskId, alice, config);
      assert.match(config.id, UUID);
      const loaded = await store.load(taskId, alice);
      assert.deepEqual(loaded, [{ ...config, taskId }]);
    });

    void test('a 0.3 config without an id gets the task id, so a 0.3 delete without an id finds it', async () => {
      const taskId = nextId();
      const ctx = pushContext('0.3', 'alice');
      const config = pushConfig();
      await store.save(taskId, ctx, config);
      assert.equal(config.id, taskId);
      await store.save(taskId, ctx, pushConfig({ url: 'https://hooks.example.com/second' }));
      const loaded = await store.load(taskId, ctx);
      assert.equal(loaded.length, 1, 'a second id-less 0.3 set replaces the default config');
      assert.equal(loaded[0]?.url, 'https://hooks.example.com/second');
      await store.delete(taskId, ctx);
      assert.deepEqual(await store.load(taskId, ctx), []);
    });

    void test('loadWithMetadata returns the wire version each config was registered with', async () => {
      const taskId = nextId();
      await store.save(taskId, pushContext('1.0', 'alice'), pushConfig({ id: 'v1' }));
      await store.save(taskId, pushContext('0.3', 'alice'), pushConfig({ id: 'v03' }));
      const stored = await store.loadWithMetadata(taskId, alice);
      assert.deepEqual(
        stored.map((s) => [s.config.id, s.wireVersion]),
        [
          ['v1', '1.0'],
          ['v03', '0.3'],
        ],
      );
    });

    void test('saving an existing id updates it in place; loads are copies', async () => {
      const taskId = nextId();
      await store.save(taskId, alice, pushConfig({ id: 'a' }));
      await store.save(taskId, alice, pushConfig({ id: 'b' }));
      await store.save(taskId, alice, pushConfig({ id: 'a', url: 'https://hooks.example.com/new' }));
      const loaded = await store.load(taskId, alice);
      assert.deepEqual(
        loaded.map((c) => [c.id, c.url]),
        [
          ['a', 'https://hooks.example.com/new'],
          ['b', 'https://hooks.example.com/a2a'],
        ],
      );
      loaded[0]!.url = 'https://mutated.example.com/';
      assert.equal((await store.load(taskId, alice))[0]?.url, 'https://hooks.example.com/new');
    });

    void test('delete removes one config by id and leaves the others', async () => {
      const taskId = nextId();
      await store.save(taskId, alice, pushConfig({ id: 'a' }));
      await store.save(taskId, alice, pushConfig({ id: 'b' }));
      await store.delete(taskId, alice, 'a');
      await store.delete(taskId, alice, 'missing');
      assert.deepEqual(
        (await store.load(taskId, alice)).map((c) => c.id),
        ['b'],
      );
    });

    void test('configs are scoped by owner and tenant; an admin sees and deletes every owner’s', async () => {
      const taskId = nextId();
      await store.save(taskId, alice, pushConfig({ id: 'same' }));
      await store.save(taskId, bob, pushConfig({ id: 'same', url: 'https://bob.example.com/' }));
      await store.save(taskId, pushContext('1.0', 'alice', 'other-tenant'), pushConfig({ id: 't' }));
      assert.deepEqual(
        (await store.load(taskId, alice)).map((c) => c.url),
        ['https://hooks.example.com/a2a'],
      );
      assert.deepEqual(
        (await store.load(taskId, bob)).map((c) => c.url),
        ['https://bob.example.com/'],
      );
      await store.delete(taskId, bob, 'same');
      assert.equal((await store.load(taskId, alice)).length, 1, "bob's delete does not touch alice's config");
      const root = pushContext('1.0', 'root');
      assert.equal((await store.loadWithMetadata(taskId, root)).length, 2);
      assert.deepEqual(await store.load(taskId, pushContext('1.0')), [], 'anonymous sees none');
    });

    void test('deleteTask removes every config of the task whoever owns it', async () => {
      const taskId = nextId();
      const other = nextId();
      await store.save(taskId, alice, pushConfig({ id: 'a' }));
      await store.save(taskId, bob, pushConfig({ id: 'b' }));
      await store.save(other, alice, pushConfig({ id: 'c' }));
      assert.equal(await store.deleteTask(taskId), 2);
      assert.deepEqual(await store.load(taskId, alice), []);
      assert.equal((await store.load(other, alice)).length, 1);
    });
  });
}
