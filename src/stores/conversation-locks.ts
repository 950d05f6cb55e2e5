import type { ConversationLock } from './conversation-store.js';

/**
 * Conversation locks within this process (the embedded stores' `lockConversation`): a promise chain per
 * conversation, so turns run one after another in the order they asked.
 */
export class ConversationLocks {
  private readonly chains = new Map<string, Promise<void>>();

  async lock(conversation: string, signal?: AbortSignal): Promise<ConversationLock> {
    signal?.throwIfAborted();
    const previous = this.chains.get(conversation) ?? Promise.resolve();
    let resolveMine!: () => void;
    const mine = new Promise<void>((resolve) => {
      resolveMine = resolve;
    });
    const chain = previous.then(() => mine);
    this.chains.set(conversation, chain);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      resolveMine();
      // Once every earlier turn is over too, nobody waits on this conversation unless a later one asked.
      void chain.then(() => {
        if (this.chains.get(conversation) === chain) this.chains.delete(conversation);
      });
    };
    if (signal) {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([previous, aborted]);
      } catch (error) {
        // A later waiter's chain is previous, then mine: releasing an abandoned wait never lets it overtake
        // the turn that holds the lock.
        release();
        throw error;
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    } else {
      await previous;
    }
    return {
      release: () => {
        release();
        return Promise.resolve();
      },
    };
  }
}
