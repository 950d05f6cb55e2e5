/**
 * Prints the functions with the most self time in a V8 CPU profile (from `--cpu-prof`, or BENCH_CPU_PROF=<dir>
 * when running a benchmark), with the file they live in: the quick read of a flame graph.
 *
 *   node --import tsx bench/profile-top.ts <file.cpuprofile> [--top 25] [--inclusive] [--from-ms N] [--to-ms N]
 *
 * With --inclusive, a function's time includes the time of everything it called (each sample counted once per
 * function on its stack). `--from-ms` / `--to-ms` keep only the samples in that window of the profile (ms from its
 * start), to leave out start-up; `--timeline` prints busy and idle time per 500 ms to find the window.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    inclusive: { type: 'boolean', default: false },
    'from-ms': { type: 'string', default: '0' },
    'to-ms': { type: 'string', default: 'Infinity' },
    timeline: { type: 'boolean', default: false },
  },
});
const file = positionals[0];
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};
const fromUs = Number(values['from-ms']) * 1000;
const toUs = Number(values['to-ms']) * 1000;
const self = new Map<string, number>();
const timeline = new Map<number, { busy: number; idle: number }>();
let total = 0;
let at = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  const slot = timeline.get(Math.floor(at / 500_000)) ?? { busy: 0, idle: 0 };
  if (byId.get(id)?.callFrame.functionName === '(idle)') slot.idle += dt;
  else slot.busy += dt;
  timeline.set(Math.floor(at / 500_000), slot);
  if (at < fromUs || at > toUs) return;
  total += dt;
  const keys = new Set<string>();
  for (
    let at: number | undefined = id;
    at !== undefined;
    at = values.inclusive ? parent.get(at) : undefined
  ) {
    const node = byId.get(at);
    if (node) keys.add(keyOf(node));
  }
  for (const key of keys) self.set(key, (self.get(key) ?? 0) + dt);
});
if (values.timeline) {
  for (const [slot, { busy, idle }] of timeline) {
    process.stdout.write(
      `${String(slot * 500).padStart(7)} ms  busy ${(busy / 1000).toFixed(0).padStart(4)} ms  idle ${(idle / 1000).toFixed(0).padStart(4)} ms\n`,
    );
  }
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms sampled\n`);
for (const [key, us] of rows) {
  process.stdout.write(
    `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`,
  );
}
