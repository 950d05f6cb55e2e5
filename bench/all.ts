/**
 * `npm run bench`: the six benchmarks of docs/benchmarks.md in one run (about 10 minutes on 2 cores), each
 * starting what it compares on 127.0.0.1 and printing its table; a summary of every figure against its target at
 * the end. Each benchmark also runs alone (`node --import tsx bench/<name>.ts --help` names its options).
 */
import { runCancel } from './cancel.js';
import { runGetTask } from './get-task.js';
import { runMemory } from './memory.js';
import { machineLine, printTable } from './lib/report.js';
import { runStoreScale } from './store-scale.js';
import { runStreamFanout } from './stream-fanout.js';
import { runTaskOverhead } from './task-overhead.js';

const started = Date.now();
process.stdout.write(`a2a-gateway benchmarks · ${machineLine()}\n`);
const getTask = await runGetTask();
const overhead = await runTaskOverhead();
const stream = await runStreamFanout();
const scale = await runStoreScale();
const cancel = await runCancel();
const memory = await runMemory();

/** A summary row; `met` undefined for a figure shown beside a target without one of its own. */
const row = (
  benchmark: string,
  figure: string,
  value: number | string,
  target: string,
  met: boolean | undefined,
) => ({
  benchmark,
  figure,
  value,
  target,
  met: met === undefined ? '-' : met ? 'yes' : 'NO',
});
/** Benchmark 4's rows for one store: its figures are named as on SQLite, prefixed (`redisGetP99`) on Redis. */
function scaleRows(benchmark: string, prefix: '' | 'redis') {
  const figure = (name: string): number =>
    scale[prefix === '' ? name : `${prefix}${name[0]?.toUpperCase()}${name.slice(1)}`] ?? 0;
  const own = figure('filteredP50');
  const admin = figure('adminFilteredP50');
  return [
    row(benchmark, 'GetTask p99 ms (warm)', figure('getP99'), '<= 5', figure('getP99') <= 5),
    row(benchmark, 'GetTask p99 ms, first 2 s after start', figure('getColdP99'), '-', undefined),
    row(
      benchmark,
      'first page p50 ms (own key)',
      figure('firstPageP50'),
      '<= 20',
      figure('firstPageP50') <= 20,
    ),
    row(
      benchmark,
      'first page p50 ms (admin)',
      figure('adminFirstPageP50'),
      '<= 20',
      figure('adminFirstPageP50') <= 20,
    ),
    row(benchmark, 'by contextId p50 ms (own/admin)', `${own}/${admin}`, '<= 20', Math.max(own, admin) <= 20),
    row(benchmark, 'RSS MB', figure('rssAfterMb'), '<= 300', figure('rssAfterMb') <= 300),
    row(benchmark, 'start ms', figure('startMs'), '<= 2000', figure('startMs') <= 2000),
  ];
}

printTable(`Summary (${Math.round((Date.now() - started) / 1000)} s) · ${machineLine()}`, [
  row('1 GetTask', 'JSON-RPC A/B', getTask.rpcAoverB ?? 0, '>= 1.5', (getTask.rpcAoverB ?? 0) >= 1.5),
  row('1 GetTask', 'JSON-RPC A/C', getTask.rpcAoverC ?? 0, '>= 0.5', (getTask.rpcAoverC ?? 0) >= 0.5),
  row('1 GetTask', 'REST A/B', getTask.restAoverB ?? 0, '>= 1.5', (getTask.restAoverB ?? 0) >= 1.5),
  row('1 GetTask', 'REST A/C', getTask.restAoverC ?? 0, '>= 0.5', (getTask.restAoverC ?? 0) >= 0.5),
  row(
    '2 overhead',
    'A tasks/s vs B',
    `${overhead.tpsA} vs ${overhead.tpsB}`,
    'A >= B',
    (overhead.tpsA ?? 0) >= (overhead.tpsB ?? 0),
  ),
  row('2 overhead', 'A added p50 ms', overhead.addedP50A ?? 0, '<= 10', (overhead.addedP50A ?? 0) <= 10),
  row(
    '2 overhead',
    'A SANDBOX=off tasks/s, added p50 ms',
    `${overhead.tpsAOff}, ${overhead.addedP50AOff}`,
    'B, <= 10',
    (overhead.tpsAOff ?? 0) >= (overhead.tpsB ?? 0) && (overhead.addedP50AOff ?? 0) <= 10,
  ),
  row('3 streaming', 'p99 ms', stream.p99 ?? 0, '<= 50', (stream.p99 ?? 0) <= 50),
  ...scaleRows('4 scale', ''),
  // The same on the Redis store, when it ran (the benchmark says why when Redis could not start).
  ...(scale.redisGetP99 === undefined ? [] : scaleRows('4 scale Redis', 'redis')),
  row('5 cancel', 'p99 ms', cancel.p99 ?? 0, '<= 1000', (cancel.p99 ?? 0) <= 1000),
  row('6 memory', 'peak RSS MB', memory.peakMb ?? 0, '<= 500', (memory.peakMb ?? 0) <= 500),
]);
