/**
 * `npm run bench`: the six benchmarks of docs/benchmarks.md in one run (about 5 minutes on 2 cores), each
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

const row = (benchmark: string, figure: string, value: number | string, target: string, met: boolean) => ({
  benchmark,
  figure,
  value,
  target,
  met: met ? 'yes' : 'NO',
});
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
  row('3 streaming', 'p99 ms', stream.p99 ?? 0, '<= 50', (stream.p99 ?? 0) <= 50),
  row('4 scale', 'GetTask p99 ms', scale.getP99 ?? 0, '<= 5', (scale.getP99 ?? 0) <= 5),
  row(
    '4 scale',
    'first page p50 ms (own key)',
    scale.firstPageP50 ?? 0,
    '<= 20',
    (scale.firstPageP50 ?? 0) <= 20,
  ),
  row(
    '4 scale',
    'first page p50 ms (admin)',
    scale.adminFirstPageP50 ?? 0,
    '<= 20',
    (scale.adminFirstPageP50 ?? 0) <= 20,
  ),
  row(
    '4 scale',
    'by contextId p50 ms (own/admin)',
    `${scale.filteredP50}/${scale.adminFilteredP50}`,
    '<= 20',
    Math.max(scale.filteredP50 ?? 0, scale.adminFilteredP50 ?? 0) <= 20,
  ),
  row('4 scale', 'RSS MB', scale.rssAfterMb ?? 0, '<= 300', (scale.rssAfterMb ?? 0) <= 300),
  row('4 scale', 'start ms', scale.startMs ?? 0, '<= 2000', (scale.startMs ?? 0) <= 2000),
  row('5 cancel', 'p99 ms', cancel.p99 ?? 0, '<= 1000', (cancel.p99 ?? 0) <= 1000),
  row('6 memory', 'peak RSS MB', memory.peakMb ?? 0, '<= 500', (memory.peakMb ?? 0) <= 500),
]);
