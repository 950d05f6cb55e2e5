/**
 * Kubernetes manifests, checked for what holds them together: every document is an object with apiVersion, kind
 * and metadata.name; a Deployment's selector matches its pod labels and each container names an image; a Service
 * selects a Deployment's pods and targets a port a container declares.
 * (The full Kubernetes JSON schemas are too large to ship; the test suite validates against them.)
 */
import { parseAllDocuments } from 'yaml';

export interface ManifestFile {
  path: string;
  text: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

function subset(small: Obj, big: Obj): boolean {
  const keys = Object.keys(small);
  return keys.length > 0 && keys.every((k) => big[k] === small[k]);
}

interface Workload {
  where: string;
  labels: Obj;
  ports: Set<string | number>;
}

/** The Kubernetes objects of the files (kustomization files aside), or the parse problems. */
export function readManifests(files: readonly ManifestFile[]): {
  objects: { where: string; value: Obj }[];
  problems: string[];
} {
  const objects: { where: string; value: Obj }[] = [];
  const problems: string[] = [];
  for (const file of files) {
    if (/(^|\/)kustomization\.ya?ml$/.test(file.path)) continue;
    for (const [i, doc] of parseAllDocuments(file.text).entries()) {
      const where = `${file.path} document ${i + 1}`;
      const error = doc.errors[0];
      if (error) {
        problems.push(`${where} does not parse as YAML: ${error.message.split('\n')[0] ?? ''}`);
        continue;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      if (!isObj(value)) {
        problems.push(`${where} is not a mapping`);
        continue;
      }
      if (typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
        problems.push(`${where} has no apiVersion and kind, so it is not a Kubernetes manifest`);
        continue;
      }
      if (typeof obj(value.metadata).name !== 'string')
        problems.push(`${where} (${value.kind}) has no metadata.name`);
      objects.push({ where: `${where} (${value.kind})`, value });
    }
  }
  return { objects, problems };
}

function checkPodSpec(where: string, spec: Obj, problems: string[]): Set<string | number> {
  const ports = new Set<string | number>();
  const containers = list(spec.containers);
  if (containers.length === 0) problems.push(`${where} has no containers`);
  for (const c of containers.map(obj)) {
    const name = typeof c.name === 'string' ? c.name : '?';
    if (typeof c.image !== 'string' || c.image === '')
      problems.push(`${where}: container ${name} names no image`);
    for (const p of list(c.ports).map(obj)) {
      if (typeof p.containerPort !== 'number')
        problems.push(`${where}: container ${name} has a port that is not a number`);
      else ports.add(p.containerPort);
      if (typeof p.name === 'string') ports.add(p.name);
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const http = obj(obj(c[probe]).httpGet);
      if (http.path !== undefined && (typeof http.path !== 'string' || !http.path.startsWith('/'))) {
        problems.push(`${where}: ${probe} of ${name} has a path that does not start with /`);
      }
    }
  }
  return ports;
}

/** Every problem found in a set of manifests; an empty list means they passed. */
export function checkManifests(files: readonly ManifestFile[]): string[] {
  const { objects, problems } = readManifests(files);
  if (objects.length === 0 && problems.length === 0) problems.push('there is no Kubernetes manifest');
  const workloads: Workload[] = [];
  for (const { where, value } of objects) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(value.kind as string)) continue;
    const spec = obj(value.spec);
    const template = obj(spec.template);
    const labels = obj(obj(template.metadata).labels);
    if (!subset(obj(obj(spec.selector).matchLabels), labels)) {
      problems.push(`${where}: spec.selector.matchLabels does not match the pod template's labels`);
    }
    workloads.push({ where, labels, ports: checkPodSpec(where, obj(template.spec), problems) });
  }
  for (const { where, value } of objects.filter((o) => o.value.kind === 'Service')) {
    const spec = obj(value.spec);
    const selector = obj(spec.selector);
    const target = workloads.find((w) => subset(selector, w.labels));
    if (!target) {
      if (workloads.length > 0) problems.push(`${where}: its selector matches no workload's pods`);
      continue;
    }
    for (const p of list(spec.ports).map(obj)) {
      const port = p.targetPort ?? p.port;
      if ((typeof port === 'number' || typeof port === 'string') && !target.ports.has(port)) {
        problems.push(`${where}: targetPort ${String(port)} is not a port of ${target.where}`);
      }
    }
  }
  return problems;
}
