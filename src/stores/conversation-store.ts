/** The backend session a conversation is bound to, so a follow-up turn resumes it. */
export interface ContextSession {
  /** The conversation: the owner and the A2A contextId it belongs to (see `Conversations`). */
  contextId: string;
  backend: string;
  sessionId: string;
  workdir?: string;
  updatedAt: string;
}

/** A held conversation lock; the next turn of the conversation starts once it is released. */
export interface ConversationLock {
  /** Idempotent: a second call does nothing. */
  release(): Promise<void>;
}

/**
 * The conversations port: which backend session each conversation is bound to, and the lock that keeps two
 * turns of one conversation from running at once. (The earlier turns kept for replay live in the
 * conversation's home directory, next to the CLI's own session files, which a follow-up needs just as much.)
 * Contract suite: `conversationStoreContract` in test/contracts/conversation-store.ts.
 */
export interface ConversationStore {
  getContextSession(conversation: string): Promise<ContextSession | undefined>;
  /** Upserts the conversation's binding (keyed by `session.contextId`). */
  setContextSession(session: ContextSession): Promise<void>;
  /**
   * Waits until no earlier turn of the conversation holds its lock (first come, first served), then holds it.
   * When `signal` aborts first, rejects with the signal's reason and never holds it; later waiters are not
   * held up by the abandoned wait.
   */
  lockConversation(conversation: string, signal?: AbortSignal): Promise<ConversationLock>;
}
