import type { ListTasksRequest, TaskState } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';

/** The SDK's and the A2A specification's default page size. */
export const DEFAULT_PAGE_SIZE = 50;

/** Where the previous page ended: the sort key of its last task. */
export interface PageCursor {
  statusKey: string;
  id: string;
}

/** A validated `ListTasksRequest`, in the form both stores filter on. */
export interface ListQuery {
  contextId: string | undefined;
  state: TaskState | undefined;
  /** A status key; only tasks whose status time is strictly later are listed (as in the SDK's stores). */
  statusAfter: string | undefined;
  pageSize: number;
  cursor: PageCursor | undefined;
  includeArtifacts: boolean;
}

/**
 * The key tasks are listed by. Status timestamps arrive in any ISO 8601 form ("…Z", "…+02:00", with or
 * without milliseconds), so comparing the raw strings, as the SDK's in-memory store does, misorders them;
 * normalizing to UTC with milliseconds makes string order equal time order, which SQL can index. A missing
 * or unparseable timestamp gets '' and so sorts as the oldest.
 */
export function statusKey(timestamp: string | undefined): string {
  if (!timestamp) return '';
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/** Newest status first, then id descending: the SDK's order, on normalized keys. */
export function compareForList(a: PageCursor, b: PageCursor): number {
  if (a.statusKey !== b.statusKey) return a.statusKey > b.statusKey ? -1 : 1;
  if (a.id !== b.id) return a.id > b.id ? -1 : 1;
  return 0;
}

/**
 * Keyset paging: a task belongs after the cursor when it sorts after it. Unlike the SDK's in-memory store,
 * which looks the cursor task up and returns nothing once it is gone, this keeps paging when the last task
 * of the previous page was purged or changed in between.
 */
export function isAfterCursor(entry: PageCursor, cursor: PageCursor): boolean {
  return compareForList(entry, cursor) > 0;
}

/** The SDK's token format (base64 of `timestamp|id`), so tokens look the same whichever store issued them. */
export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(`${cursor.statusKey}|${cursor.id}`).toString('base64');
}

export function decodePageToken(token: string): PageCursor {
  const text = Buffer.from(token, 'base64').toString('utf8');
  const bar = text.indexOf('|');
  if (bar < 0) throw new RequestMalformedError('pageToken is not a token this server issued');
  return { statusKey: text.slice(0, bar), id: text.slice(bar + 1) };
}

/**
 * Validates the request the way the SDK's request handler does, so a store called directly (by the gateway
 * itself or a test) rejects the same bad input with the same error.
 */
export function parseListQuery(params: ListTasksRequest): ListQuery {
  const pageSize = params.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RequestMalformedError(`pageSize must be a positive integer, got ${String(pageSize)}`);
  }
  let statusAfter: string | undefined;
  if (params.statusTimestampAfter) {
    statusAfter = statusKey(params.statusTimestampAfter);
    if (statusAfter === '') {
      throw new RequestMalformedError('statusTimestampAfter must be an ISO 8601 timestamp');
    }
  }
  return {
    contextId: params.contextId || undefined,
    // 0 (unspecified) means "no filter" in the SDK.
    state: params.status ? params.status : undefined,
    statusAfter,
    pageSize,
    cursor: params.pageToken ? decodePageToken(params.pageToken) : undefined,
    includeArtifacts: params.includeArtifacts ?? false,
  };
}
