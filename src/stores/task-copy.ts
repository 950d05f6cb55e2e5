import type { Part, Task } from '@a2a-js/sdk';

/**
 * A deep copy that is still a valid in-memory Task. `structuredClone` alone turns every Buffer into a plain
 * Uint8Array (the SDK's own InMemoryTaskStore has this flaw): the copy then no longer deep-equals the
 * original and lacks Buffer's methods. Raw parts get their Buffer back. A small Buffer is a view into
 * Node's shared 8 KB pool and structuredClone copies the whole pool with it, so such a view is copied out to
 * its own bytes rather than kept pinning the cloned pool.
 */
export function cloneTask(task: Task): Task {
  const copy = structuredClone(task);
  restoreBuffers(copy.status?.message?.parts);
  for (const message of copy.history) restoreBuffers(message.parts);
  for (const artifact of copy.artifacts) restoreBuffers(artifact.parts);
  return copy;
}

function restoreBuffers(parts: Part[] | undefined): void {
  for (const part of parts ?? []) {
    const content = part.content;
    if (content?.$case === 'raw' && !Buffer.isBuffer(content.value)) {
      const bytes: Uint8Array = content.value;
      content.value =
        bytes.byteLength === bytes.buffer.byteLength
          ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          : Buffer.from(bytes);
    }
  }
}
