import { randomFillSync } from 'node:crypto';

/** A W3C Trace Context position: the trace a request belongs to and the span the gateway handles it in. */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** This hop's span: 16 lowercase hex digits. */
  spanId: string;
  /** The caller's span, when it sent a `traceparent`. */
  parentSpanId: string | undefined;
  /** Trace flags, two hex digits (`01`: sampled). */
  flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The trace context for a request: the caller's trace when its `traceparent` header is valid (version 00, or a
 * later version read as 00 as the spec asks; ids not all zeros), else a new trace. Either way the gateway's own
 * hop gets a new span id, which is what children see as their parent.
 */
export function traceContextFor(header: string | undefined): TraceContext {
  const m = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  const [, version, traceId, parent, flags] = m ?? [];
  const valid =
    version !== undefined &&
    version !== 'ff' &&
    traceId !== undefined &&
    parent !== undefined &&
    flags !== undefined &&
    !/^0+$/.test(traceId) &&
    !/^0+$/.test(parent) &&
    (version !== '00' || header?.trim().length === 55);
  if (valid) return { traceId, spanId: newSpanId(), parentSpanId: parent, flags };
  return {
    traceId: randomHex(16),
    spanId: newSpanId(),
    parentSpanId: undefined,
    flags: '00',
  };
}

// Random bytes are drawn a few kB at a time: one call into the CSPRNG per 170 requests instead of two per request.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** `bytes` random bytes from the CSPRNG, as hex. */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

function newSpanId(): string {
  for (;;) {
    const id = randomHex(8);
    if (id !== '0000000000000000') return id;
  }
}

/** The `traceparent` header value that puts a callee under this context's span. */
export function traceparentOf(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A valid `traceparent` value, or undefined (for values read back from request headers). */
export function validTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value);
  return m && value.length === 55 && m[1] === '00' ? value : undefined;
}

/** The `traceparent` in a request's headers object (as the SDK keeps it in a call's state), when valid. */
export function traceparentOfHeaders(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  return validTraceparent((headers as Record<string, unknown>).traceparent);
}

/** The trace id of a `traceparent` value. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}
