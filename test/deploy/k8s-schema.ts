// Validates Kubernetes objects against the Kubernetes API's own schemas, in two passes, as kubeconform -strict
// does: the OpenAPI JSON schemas (types, required fields, enums), through the validators kubernetes-models ships;
// then unknown or misspelt fields, which those schemas allow, through the same package's TypeScript types and
// tsc's excess-property check.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';

const require = createRequire(import.meta.url);

/** Merges a strategic-merge patch into an object as kustomize does for these files: maps deeply, lists of named items by name, other lists replaced. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (Array.isArray(target) && Array.isArray(patch)) {
    const named = (l: unknown[]): boolean =>
      l.every((x) => x !== null && typeof x === 'object' && 'name' in x);
    if (!named(target) || !named(patch)) return patch;
    const out = [...target] as { name: unknown }[];
    for (const item of patch as { name: unknown }[]) {
      const i = out.findIndex((x) => x.name === item.name);
      if (i >= 0) out[i] = mergePatch(out[i], item) as { name: unknown };
      else out.push(item);
    }
    return out;
  }
  if (
    target !== null &&
    typeof target === 'object' &&
    patch !== null &&
    typeof patch === 'object' &&
    !Array.isArray(patch)
  ) {
    const out: Record<string, unknown> = { ...(target as Record<string, unknown>) };
    for (const [k, v] of Object.entries(patch)) {
      // A null in a strategic-merge patch removes the field (e.g. a volume's persistentVolumeClaim).
      if (v === null) delete out[k];
      else out[k] = k in out ? mergePatch(out[k], v) : v;
    }
    return out;
  }
  return patch;
}

export interface K8sDoc {
  path: string;
  value: Record<string, unknown>;
}

/** `apps/v1` + `Deployment` → the module path in kubernetes-models. */
function modulePath(doc: K8sDoc): string {
  return `kubernetes-models/${String(doc.value.apiVersion)}/${String(doc.value.kind)}`;
}

/** The problems found, one line each naming the file and kind; empty when every object is valid. */
export async function validateKubernetes(docs: readonly K8sDoc[]): Promise<string[]> {
  const errors: string[] = [];
  for (const doc of docs) {
    const where = `${doc.path} (${String(doc.value.kind)})`;
    let mod: Record<string, new (v: unknown) => { validate(): void }>;
    try {
      mod = (await import(modulePath(doc))) as typeof mod;
    } catch {
      errors.push(`${where}: no schema for ${String(doc.value.apiVersion)} ${String(doc.value.kind)}`);
      continue;
    }
    const Model = mod[String(doc.value.kind)];
    try {
      new Model!(doc.value).validate();
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message}`);
    }
  }
  errors.push(...strictFields(docs));
  return errors;
}

/** tsc over `const x: IKind = <object>`: an object literal with a property its type lacks is an error. */
function strictFields(docs: readonly K8sDoc[]): string[] {
  const { dir, cleanup } = tempDir('a2a-k8s-types-');
  try {
    const pkgDir = dirname(require.resolve('kubernetes-models/package.json'));
    const lines = docs.map((doc, i) => {
      const kind = String(doc.value.kind);
      return `import type { I${kind} as T${i} } from ${JSON.stringify(modulePath(doc))};\nexport const doc${i}: T${i} = ${JSON.stringify(doc.value, null, 1)};`;
    });
    writeFileSync(join(dir, 'manifests.ts'), lines.join('\n'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          paths: { 'kubernetes-models/*': [`${pkgDir}/*`] },
          types: [],
        },
        files: ['manifests.ts'],
      }),
    );
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    if (r.status === 0) return [];
    // manifests.ts(LINE,COL): error TS2353: Object literal may only specify known properties, and 'pth' ...
    const text = `${r.stdout}${r.stderr}`;
    const starts = lines.map((_, i) => lines.slice(0, i).reduce((n, l) => n + l.split('\n').length, 1));
    return text
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        const line = Number(/\((\d+),\d+\)/.exec(l)?.[1] ?? 0);
        const index = starts.findLastIndex((s) => s <= line);
        const doc = docs[index];
        return `${doc ? `${doc.path} (${String(doc.value.kind)})` : 'manifests'}: ${l.replace(/^.*error TS\d+: /, '')}`;
      });
  } finally {
    cleanup();
  }
}

/**
 * What `kubectl kustomize DIR` prints, for the features our kustomizations use: resources (files and
 * directories), strategic-merge patches by kind and name (a null removes a field, `$patch: delete` an object),
 * namespace, images. No kubectl here, so this stands in
 * for it; each output object is then validated like any other.
 */
export function renderKustomization(dir: string): K8sDoc[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
    resources?: string[];
    patches?: { path: string }[];
    namespace?: string;
    images?: { name: string; newName?: string; newTag?: string }[];
  };
  let docs: K8sDoc[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) docs.push(...renderKustomization(path));
    else {
      for (const d of parseAllDocuments(readFileSync(path, 'utf8'))) {
        docs.push({ path: relative(REPO_ROOT, path), value: d.toJS() as Record<string, unknown> });
      }
    }
  }
  for (const p of k.patches ?? []) {
    const patch = parse(readFileSync(join(dir, p.path), 'utf8')) as {
      kind: string;
      metadata: { name: string };
    };
    const i = docs.findIndex(
      (d) =>
        d.value.kind === patch.kind && (d.value.metadata as { name: string }).name === patch.metadata.name,
    );
    if (i < 0) throw new Error(`${p.path}: patches nothing (${patch.kind} ${patch.metadata.name})`);
    if ((patch as { $patch?: string }).$patch === 'delete') {
      docs.splice(i, 1);
      continue;
    }
    docs[i] = {
      path: `${docs[i]!.path} + ${relative(REPO_ROOT, join(dir, p.path))}`,
      value: mergePatch(docs[i]!.value, patch) as Record<string, unknown>,
    };
  }
  if (k.namespace) {
    docs = docs.map((d) =>
      d.value.kind === 'Namespace'
        ? d
        : {
            ...d,
            value: { ...d.value, metadata: { ...(d.value.metadata as object), namespace: k.namespace } },
          },
    );
  }
  for (const image of k.images ?? []) {
    const text = JSON.stringify(docs).replace(
      new RegExp(`"image":"${image.name}(:[^"]*)?"`, 'g'),
      `"image":"${image.newName ?? image.name}:${image.newTag ?? 'latest'}"`,
    );
    docs = JSON.parse(text) as K8sDoc[];
  }
  return docs;
}
