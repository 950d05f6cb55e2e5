/**
 * Dockerfiles: read into instructions and build stages, and linted. The lint is dockerfile-utils' validator (the
 * one behind the VS Code Docker extension: syntax, flags, instruction arguments) with every optional rule raised
 * to an error, plus the best-practice rules hadolint is known for that a generated file must meet.
 */
import { validate, ValidationSeverity } from 'dockerfile-utils';

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The image the stage starts from, as written (may name an earlier stage). */
  from: string;
  /** `AS name`, when given. */
  name: string | undefined;
  instructions: Instruction[];
}

/** The instructions of a Dockerfile: comments and blank lines left out, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? '';
    const start = i;
    i += 1;
    if (/^\s*(#|$)/.test(first)) continue;
    let joined = first;
    while (/\\\s*$/.test(joined) && i < lines.length) {
      joined = joined.replace(/\\\s*$/, '');
      const next = lines[i] ?? '';
      i += 1;
      if (/^\s*#/.test(next)) continue; // comments inside a continued instruction are dropped by Docker
      joined += ` ${next.trim()}`;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    if (!m) continue;
    out.push({ keyword: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start + 1 });
  }
  return out;
}

/** The build stages, in order. Instructions before the first FROM (global ARGs) belong to none. */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ from: words[0] ?? '', name: as >= 0 ? words[as + 1] : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** The exec-form argv of a CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined when it is in shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface LintFinding {
  line: number;
  rule: string;
  message: string;
  /** An error fails a generation task; a warning is a best practice the file should still follow. */
  severity: 'error' | 'warning';
}

const WARNING_RULES = new Set(['DL3009', 'DL3014', 'DL3015', 'expose', 'healthcheck']);

const STRICT = ValidationSeverity.ERROR;

/** True when an image reference names a tag or digest other than `latest` (or `scratch`, which has none). */
function pinned(image: string): boolean {
  if (image === 'scratch' || image.includes('@sha256:')) return true;
  const lastPart = image.split('/').pop() ?? image;
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
  return tag !== '' && tag !== 'latest';
}

/**
 * Every problem found in a Dockerfile: the validator's diagnostics (syntax, arguments, casing, relative WORKDIR,
 * more than one CMD ...) and these rules: the first instruction is FROM (after ARGs); base images are pinned
 * (DL3006/DL3007); apt-get install uses -y and --no-install-recommends and the lists are removed
 * (DL3014/DL3015/DL3009); the final stage switches to a non-root user (DL3002); CMD and ENTRYPOINT are in exec form
 * (DL3025); EXPOSE and HEALTHCHECK are there. An empty list means it passed.
 */
export function lintDockerfile(text: string): LintFinding[] {
  const findings: Omit<LintFinding, 'severity'>[] = validate(text, {
    deprecatedMaintainer: STRICT,
    directiveCasing: STRICT,
    emptyContinuationLine: STRICT,
    instructionCasing: STRICT,
    instructionCmdMultiple: STRICT,
    instructionEntrypointMultiple: STRICT,
    instructionHealthcheckMultiple: STRICT,
    instructionJSONInSingleQuotes: STRICT,
    instructionWorkdirRelative: STRICT,
  }).map((d) => ({
    line: d.range.start.line + 1,
    rule: `dockerfile-utils:${String(d.code)}`,
    message: typeof d.message === 'string' ? d.message : d.message.value,
  }));

  const instructions = parseDockerfile(text);
  const first = instructions.find((i) => i.keyword !== 'ARG');
  if (!first) return [{ line: 1, rule: 'from', message: 'there is no FROM instruction', severity: 'error' }];
  if (first.keyword !== 'FROM') {
    findings.push({
      line: first.line,
      rule: 'from',
      message: `the first instruction is ${first.keyword}, expected FROM`,
    });
  }
  const stages = stagesOf(instructions);
  const stageNames = new Set(stages.map((s) => s.name).filter((n): n is string => n !== undefined));
  for (const ins of instructions.filter((i) => i.keyword === 'FROM')) {
    const image = ins.args.split(/\s+/).find((w) => !w.startsWith('--')) ?? '';
    if (!stageNames.has(image) && !image.includes('$') && !pinned(image)) {
      findings.push({
        line: ins.line,
        rule: 'DL3007',
        message: `base image ${image} is not pinned to a version`,
      });
    }
  }
  for (const ins of instructions.filter((i) => i.keyword === 'RUN')) {
    if (!/\bapt-get\b[^;&|]*\binstall\b/.test(ins.args)) continue;
    if (!/\binstall\b[^;&|]*\s(-y|--yes|-qq?y|-yq+)\b/.test(ins.args)) {
      findings.push({ line: ins.line, rule: 'DL3014', message: 'apt-get install without -y' });
    }
    if (!ins.args.includes('--no-install-recommends')) {
      findings.push({
        line: ins.line,
        rule: 'DL3015',
        message: 'apt-get install without --no-install-recommends',
      });
    }
    if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args)) {
      findings.push({
        line: ins.line,
        rule: 'DL3009',
        message: 'the apt lists are not removed after apt-get install',
      });
    }
  }
  const last = stages.at(-1);
  if (last) {
    const user = last.instructions.filter((i) => i.keyword === 'USER').at(-1);
    const distrolessNonroot = /:nonroot\b|-nonroot\b/.test(last.from);
    if (!distrolessNonroot && (!user || /^(root|0)(:|$)/.test(user.args))) {
      findings.push({
        line: user?.line ?? instructions.at(-1)?.line ?? 1,
        rule: 'DL3002',
        message: 'the final stage runs as root: add a USER with a non-root user',
      });
    }
    if (
      !last.instructions.some((i) => i.keyword === 'EXPOSE') &&
      !stages.some((s) => s.instructions.some((i) => i.keyword === 'EXPOSE'))
    ) {
      findings.push({ line: 1, rule: 'expose', message: 'no EXPOSE: say which port the service listens on' });
    }
    if (!last.instructions.some((i) => i.keyword === 'HEALTHCHECK')) {
      findings.push({
        line: 1,
        rule: 'healthcheck',
        message: 'no HEALTHCHECK: say how to tell the service is up',
      });
    }
  }
  for (const ins of instructions.filter((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT')) {
    if (!execForm(ins.args)) {
      findings.push({
        line: ins.line,
        rule: 'DL3025',
        message: `${ins.keyword} is in shell form: use the JSON exec form so signals reach the app`,
      });
    }
  }
  return findings
    .map((f) => ({ ...f, severity: WARNING_RULES.has(f.rule) ? ('warning' as const) : ('error' as const) }))
    .sort((a, b) => a.line - b.line);
}
