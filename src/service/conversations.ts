import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConversationStore } from '../stores/conversation-store.js';

/** One earlier turn, kept for backends that continue a conversation by replaying it. */
interface Turn {
  request: string;
  summary: string;
  /** The skill the turn ran, so a follow-up that names none continues with it. */
  skill?: string;
}

const TURNS_FILE = '.a2a-gateway-turns.json';
const MAX_TURNS = 10;
const MAX_TURN_CHARS = 4000;

function cut(text: string): string {
  return text.length > MAX_TURN_CHARS ? `${text.slice(0, MAX_TURN_CHARS)}…` : text;
}

export interface ConversationTurn {
  home: string;
  firstTurn: boolean;
  /** The CLI session to resume, when the context's last turn ran on the same backend. */
  resumeSessionId: string | undefined;
  /** The workdir the context's earlier turns used, for a follow-up that names none. */
  previousWorkdir: string | undefined;
  /** Releases the context for its next turn. */
  release: () => Promise<void>;
}

function hashConversation(conversation: string): string {
  return createHash('sha256').update(conversation).digest('hex').slice(0, 32);
}

/**
 * The name of an owner's context on disk and in git refs (homes, scratch and worktree directories, conversation
 * refs): a hash, since the caller chooses the contextId and it must never name a path.
 */
export function conversationKey(owner: string, contextId: string): string {
  return hashConversation(`${owner}\u0000${contextId}`);
}

/**
 * What ties the turns of one A2A context together: a private home directory (the CLI's config and sessions), the
 * backend session it is bound to (in the store, so it survives restarts), the earlier turns for replay, and a
 * lock so that two turns of one conversation never run at once. Directory names are a hash of the contextId, which
 * a caller chooses, so it can never name a path.
 */
export class Conversations {
  constructor(
    private readonly dataDir: string,
    private readonly store: ConversationStore,
  ) {}

  /**
   * A conversation is a context of one owner: another key that names the same contextId gets a conversation of
   * its own, never the first owner's home, CLI session or earlier turns.
   */
  private id(owner: string, contextId: string): string {
    return `${owner}\u0000${contextId}`;
  }

  private key(conversation: string): string {
    return hashConversation(conversation);
  }

  private homeDir(conversation: string): string {
    return join(this.dataDir, 'homes', this.key(conversation));
  }

  /** The private home of an owner's context. */
  homeOf(owner: string, contextId: string): string {
    return this.homeDir(this.id(owner, contextId));
  }

  /** The scratch workspace of a context whose tasks name no workdir. */
  scratchOf(owner: string, contextId: string): string {
    return join(this.dataDir, 'scratch', this.key(this.id(owner, contextId)));
  }

  /** Waits for the context's previous turn to end, then opens this one. */
  async begin(owner: string, contextId: string, backend: string): Promise<ConversationTurn> {
    const conversation = this.id(owner, contextId);
    const lock = await this.store.lockConversation(conversation);
    try {
      const home = this.homeDir(conversation);
      const firstTurn = !existsSync(home);
      await mkdir(home, { recursive: true, mode: 0o700 });
      const now = new Date();
      await utimes(home, now, now);
      const session = await this.store.getContextSession(conversation);
      return {
        home,
        firstTurn,
        // A session is resumed only where its files are: a home this node has not got (the turn ran on another
        // worker, or the home expired) starts a new session in the same workspace.
        resumeSessionId: !firstTurn && session && session.backend === backend ? session.sessionId : undefined,
        previousWorkdir: session?.workdir,
        release: () => lock.release(),
      };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Binds the context to the backend session a turn reported, and keeps the turn for replay. */
  async remember(
    owner: string,
    contextId: string,
    backend: string,
    turn: {
      sessionId: string | undefined;
      workdir: string | undefined;
      request: string;
      summary: string;
      skill: string;
    },
  ): Promise<void> {
    const conversation = this.id(owner, contextId);
    await this.store.setContextSession({
      contextId: conversation,
      backend,
      sessionId: turn.sessionId ?? '',
      ...(turn.workdir !== undefined ? { workdir: turn.workdir } : {}),
      updatedAt: new Date().toISOString(),
    });
    const turns = [
      ...(await this.turns(conversation)),
      { request: cut(turn.request), summary: cut(turn.summary), skill: turn.skill },
    ];
    await writeFile(join(this.homeDir(conversation), TURNS_FILE), JSON.stringify(turns.slice(-MAX_TURNS)), {
      mode: 0o600,
    });
  }

  private async turns(conversation: string): Promise<Turn[]> {
    try {
      const parsed = JSON.parse(
        await readFile(join(this.homeDir(conversation), TURNS_FILE), 'utf8'),
      ) as unknown;
      return Array.isArray(parsed) ? (parsed as Turn[]) : [];
    } catch {
      return [];
    }
  }

  /** The skill of the context's latest turn, for a follow-up that names none. */
  async lastSkill(owner: string, contextId: string): Promise<string | undefined> {
    const conversation = this.id(owner, contextId);
    if (!existsSync(this.homeDir(conversation))) return undefined;
    return (await this.turns(conversation)).at(-1)?.skill;
  }

  /** The prompt for a backend that cannot resume: the earlier turns of the conversation, then the new request. */
  async replayPrompt(owner: string, contextId: string, prompt: string): Promise<string> {
    const turns = await this.turns(this.id(owner, contextId));
    if (turns.length === 0) return prompt;
    const history = turns
      .map(
        (t, i) =>
          `Turn ${i + 1}, the request:\n${t.request}\n\nTurn ${i + 1}, what you did and answered:\n${t.summary}`,
      )
      .join('\n\n');
    return `This continues an earlier conversation in this workspace. The earlier turns, oldest first:\n\n${history}\n\nThe new request:\n\n${prompt}`;
  }

  /** Removes homes and scratch workspaces not used for longer than `maxAgeMs`; returns how many. */
  async purge(maxAgeMs: number): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - maxAgeMs;
    for (const kind of ['homes', 'scratch']) {
      const dir = join(this.dataDir, kind);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) {
          await rm(path, { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}
