// The kustomize stand-in of k8s-schema.ts (renderKustomization) against the real one: where kubectl is installed,
// `kubectl kustomize` of the base and of each overlay must give the objects the stand-in gives, which the other
// deploy tests validate. Two differences are known and set aside: the stand-in does not apply the base's
// `labels:` transformer (labels on the objects' own metadata), and kustomize may order the items of a patched
// named list (env, volumes) differently, which Kubernetes does not care about.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/gateway.js';
import { renderKustomization } from './k8s-schema.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const key = (v: any): string => `${String(v.kind)}/${String(v.metadata?.name)}`;

/** Lists of named items sorted by name, recursively. */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalized);
    const named = items.every(
      (x) => x !== null && typeof x === 'object' && typeof (x as any).name === 'string',
    );
    return named ? [...items].sort((a: any, b: any) => String(a.name).localeCompare(String(b.name))) : items;
  }
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalized(v)]));
}

describe('the kustomize stand-in agrees with kubectl kustomize', () => {
  const pairs = (
    parse(readFileSync(join(REPO_ROOT, 'deploy/k8s/base/kustomization.yaml'), 'utf8')) as {
      labels: { pairs: Record<string, string> }[];
    }
  ).labels[0]!.pairs;

  for (const dir of ['base', 'overlays/production', 'overlays/scale-out']) {
    test(`deploy/k8s/${dir}`, (t) => {
      if (!has('kubectl')) {
        t.skip('kubectl is not installed: only the stand-in renders');
        return;
      }
      const path = join(REPO_ROOT, 'deploy/k8s', dir);
      const r = spawnSync('kubectl', ['kustomize', path], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const real = parseAllDocuments(r.stdout).map((d) => d.toJS());
      const ours = renderKustomization(path).map((d) => d.value as any);
      assert.deepEqual(real.map(key).sort(), ours.map(key).sort());
      for (const object of real) {
        const mine = ours.find((o) => key(o) === key(object));
        const labels = object.metadata.labels as Record<string, string> | undefined;
        const mineLabels = (mine.metadata.labels ?? {}) as Record<string, string>;
        for (const [k, v] of Object.entries(pairs)) {
          if (labels?.[k] === v && !(k in mineLabels)) delete labels[k];
        }
        if (labels && Object.keys(labels).length === 0) delete object.metadata.labels;
        assert.deepEqual(normalized(mine), normalized(object), key(object));
      }
    });
  }
});
