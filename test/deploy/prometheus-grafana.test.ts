import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { REPO_ROOT, rpc, startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { parseExposition, type Exposition } from '../helpers/prom-text.js';

const PROM_DIR = join(REPO_ROOT, 'deploy/prometheus');
const GRAFANA_DIR = join(REPO_ROOT, 'deploy/grafana');
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/6';

function run(argv: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: PROM_DIR, encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(addr && typeof addr === 'object');
  return addr.port;
}

/** Metric names a PromQL expression refers to (the gateway's, the process collector's, and `up`). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(a2a_gateway_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+|up)\b/g)].map(
    (m) => m[1]!,
  );
}

/** True when `name` is a family the exposition declares, or a histogram's _bucket/_sum/_count series. */
function exported(m: Exposition, name: string): boolean {
  if (m.types.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && m.types.get(base) === 'histogram';
}

describe('Prometheus and Grafana files, checked by the real tools against a running gateway', () => {
  let gw: TestGateway;
  let scraped: Exposition;
  let scrapedText: string;
  before(async () => {
    gw = await startTestGateway({
      env: {
        METRICS_PORT: '0',
        REDIS_ENABLED: 'true',
        REDIS_URL,
        REDIS_KEY_PREFIX: `obs-deploy-${process.pid}:`,
      },
      configYaml: `
backends:
  quick: { type: fake, summary: done, steps: [ { event: { type: tool_call, name: Edit } } ] }
skills:
  code: { backend: quick }
`,
    });
    const sent = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: randomUUID(),
          parts: [{ kind: 'text', text: 'go' }],
        },
        metadata: { skill: 'code' },
        configuration: { blocking: true },
      },
    });
    assert.equal(sent.body.result?.status?.state, 'completed', JSON.stringify(sent.body));
    scrapedText = await (await fetch(`${gw.gateway.metricsUrl()}/metrics`)).text();
    scraped = parseExposition(scrapedText);
  });
  after(async () => {
    await gw.stop();
    await dropRedisKeys(REDIS_URL, `obs-deploy-${process.pid}:`);
  });

  test('promtool: check config, check rules, test rules, check metrics', () => {
    for (const argv of [
      ['promtool', 'check', 'config', 'prometheus.yml'],
      // The scale-out compose topology's config (docker-compose.workers.yml): API and worker replicas by DNS.
      ['promtool', 'check', 'config', 'prometheus-workers.yml'],
      ['promtool', 'check', 'rules', 'alerts.yml'],
      ['promtool', 'test', 'rules', 'alerts.test.yml'],
    ]) {
      const r = run(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}:\n${r.out}`);
      assert.match(r.out, /SUCCESS/);
    }
    // The gateway's own metrics pass promtool's linter (names, help, units, counters end in _total). prom-client's
    // default process metrics have one finding of their own (a gauge named nodejs_active_handles_total).
    const lint = run(['promtool', 'check', 'metrics'], scrapedText);
    const findings = lint.out.split('\n').filter((l) => l.trim() !== '');
    assert.deepEqual(
      findings.filter((l) => !/^nodejs_active_(handles|requests|resources)_total /.test(l)),
      [],
      lint.out,
    );
  });

  test('a real Prometheus scrapes the gateway and answers a2a_gateway_tasks_total; the alert rules load', async () => {
    const dir = tempDir('a2a-prom-');
    const port = await freePort();
    const target = new URL(gw.gateway.metricsUrl()!).host;
    // The shipped config, pointed at this gateway and scraping every second.
    const config = parseYaml(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = [join(PROM_DIR, 'alerts.yml')];
    config.scrape_configs[0].static_configs = [{ targets: [target] }];
    config.scrape_configs[0].scrape_timeout = '1s';
    const configFile = join(dir.dir, 'prometheus.yml');
    writeFileSync(configFile, stringifyYaml(config));
    let prom: ChildProcess | undefined;
    let output = '';
    try {
      prom = spawn(
        'prometheus',
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(dir.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prom.stdout?.on('data', (c: Buffer) => (output += c.toString()));
      prom.stderr?.on('data', (c: Buffer) => (output += c.toString()));
      const api = `http://127.0.0.1:${port}/api/v1`;
      const result = await waitFor(
        async () => {
          const res = await fetch(`${api}/query?query=a2a_gateway_tasks_total`).catch(() => undefined);
          if (!res?.ok) return undefined;
          const body = (await res.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return body.data.result.length > 0 ? body.data.result : undefined;
        },
        60_000,
        'Prometheus to return a2a_gateway_tasks_total',
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; prometheus said:\n${output}`);
      });
      const completed = result.find((r) => r.metric.status === 'completed');
      assert.equal(completed?.value[1], '1');
      assert.equal(completed?.metric.job, 'a2a-gateway');
      const rules = (await (await fetch(`${api}/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string }[] }[] };
      };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      assert.equal(loaded.length, 10);
      // The scale-out rules: no worker taking tasks while tasks wait, and a deep queue (long waits).
      for (const name of ['A2AGatewayNoWorkerTakingTasks', 'A2AGatewayTasksWaitLong']) {
        const rule = loaded.find((r) => r.name === name);
        assert.ok(rule && rule.health !== 'err', `${name}: ${JSON.stringify(rule)}`);
      }
      const up = (await (await fetch(`${api}/query?query=a2a_gateway_redis_up`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      assert.equal(up.data.result[0]?.value[1], '1');
    } finally {
      if (prom?.pid && prom.exitCode === null) {
        const exited = new Promise((resolve) => prom!.once('exit', resolve));
        process.kill(prom.pid, 'SIGTERM');
        await exited;
      }
      dir.cleanup();
    }
  });

  test('the dashboard and the alert rules use only metric names the gateway exports', () => {
    const dashboard = JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards/a2a-gateway.json'), 'utf8'));
    const exprs: string[] = [];
    const walk = (panels: any[]): void => {
      for (const p of panels) {
        if (p.type !== 'row') assert.ok(p.targets?.length > 0, `panel "${p.title}" has a query`);
        for (const t of p.targets ?? []) exprs.push(t.expr);
        walk(p.panels ?? []);
      }
    };
    walk(dashboard.panels);
    for (const v of dashboard.templating.list) exprs.push(v.definition);
    assert.ok(exprs.length > 30);
    const names = new Set(exprs.flatMap(metricNames));
    // Every panel group the issue asks for has its metric.
    for (const wanted of [
      'a2a_gateway_tasks_total',
      'a2a_gateway_task_duration_seconds_bucket',
      'a2a_gateway_queued_tasks',
      'a2a_gateway_tool_invocations_total',
      'a2a_gateway_tokens_total',
      'a2a_gateway_cost_usd_total',
      'a2a_gateway_http_requests_total',
      'a2a_gateway_redis_up',
      'process_cpu_seconds_total',
      // Scale-out: nodes up by role, tasks taken by workers.
      'up',
      'a2a_gateway_queue_wait_seconds_count',
    ]) {
      assert.ok(names.has(wanted), `the dashboard shows ${wanted}`);
    }
    // `up` is Prometheus' own series for every target, not the gateway's.
    const missing = [...names].filter((n) => n !== 'up' && !exported(scraped, n));
    assert.deepEqual(missing, [], 'dashboard metrics the gateway does not export');

    const alerts = parseYaml(readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8'));
    const alertNames = alerts.groups.flatMap((g: any) => g.rules.flatMap((r: any) => metricNames(r.expr)));
    const unknown = alertNames.filter((n: string) => n !== 'up' && !exported(scraped, n));
    assert.deepEqual(unknown, [], 'alert metrics the gateway does not export');

    // The dashboard's datasource is the one provisioning creates; the provider loads the dashboards folder.
    const ds = parseYaml(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8'));
    const uids = new Set(
      JSON.stringify(dashboard)
        .match(/"uid":"[^"]+"/g)
        ?.map((s) => s.slice(7, -1)) ?? [],
    );
    assert.ok(uids.has(ds.datasources[0].uid));
    const provider = parseYaml(
      readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/a2a-gateway.yml'), 'utf8'),
    );
    assert.equal(provider.providers[0].type, 'file');
  });
});
