#!/usr/bin/env node
// Installs the pinned coding-agent CLIs of test/e2e/package.json into test/e2e/node_modules, once.
//
// Does nothing when every CLI's bin is there and package.json + package-lock.json are unchanged since the last
// install (a hash marker in node_modules). Otherwise `npm ci`, with install scripts on: Claude Code, droid and
// opencode link their native binaries in a postinstall (approved in test/e2e/package.json `allowScripts`;
// node-pty and keytar, optional for Gemini CLI, are denied, so nothing is compiled or downloaded). Then checks
// that each CLI answers `--version`. Bounded to 15 minutes; exits non-zero saying what failed.
//
//   node scripts/install-e2e-clis.mjs [--force]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = join(ROOT, 'test', 'e2e');
const MODULES = join(PREFIX, 'node_modules');
const MARKER = join(MODULES, '.a2a-e2e-clis.json');
const BINS = ['claude', 'droid', 'codex', 'gemini', 'opencode', 'qwen', 'copilot'];
const TOTAL_MS = 15 * 60_000;
const VERSION_MS = 60_000;
const NPM_FLAGS = [
  '--prefix',
  PREFIX,
  '--ignore-scripts=false',
  '--no-audit',
  '--no-fund',
  '--loglevel=warn',
];

const started = Date.now();
const deadline = started + TOTAL_MS;
const force = process.argv.includes('--force');
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (message) => console.log(`install-e2e-clis: ${message}`);

class InstallError extends Error {}
function fail(message) {
  throw new InstallError(message);
}

/** Runs a command in its own process group, killed as a group at the deadline; resolves with code and output. */
function run(command, args, timeoutMs, env = process.env) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      Math.max(1000, timeoutMs),
    );
    child.once('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, output: `${output}\n${error.message}`, timedOut });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output, timedOut });
    });
  });
}

function inputsHash() {
  const hash = createHash('sha256');
  for (const name of ['package.json', 'package-lock.json']) {
    const path = join(PREFIX, name);
    if (!existsSync(path)) fail(`${path} is missing`);
    hash.update(`${name}\0`).update(readFileSync(path)).update('\0');
  }
  hash.update(`${process.platform}-${process.arch}`);
  return hash.digest('hex');
}

function upToDate(hash) {
  if (!BINS.every((bin) => existsSync(join(MODULES, '.bin', bin)))) return false;
  try {
    return JSON.parse(readFileSync(MARKER, 'utf8')).hash === hash;
  } catch {
    return false;
  }
}

// Two test files may call this at once: one installs, the other waits, then finds it done.
const LOCK = join(
  tmpdir(),
  `a2a-e2e-clis-${createHash('sha256').update(PREFIX).digest('hex').slice(0, 12)}.lock`,
);

async function lock() {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') fail(`cannot create lock ${LOCK}: ${error.message}`);
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {
      // being created or removed
    }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) fail(`timed out waiting for another install (lock ${LOCK}, pid ${holder})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const unlock = () => rmSync(LOCK, { recursive: true, force: true });

async function install(hash) {
  const lockBefore = readFileSync(join(PREFIX, 'package-lock.json'));
  log(`installing into ${MODULES} (npm ci)…`);
  let result = await run('npm', ['ci', ...NPM_FLAGS], deadline - Date.now());
  if (result.code !== 0 && !result.timedOut && /in sync|Missing: .* from lock file/.test(result.output)) {
    // Registry mirrors without other platforms' optional binaries (opencode-darwin-*, @factory/cli-win32-*, …)
    // leave them out of the lockfile, and `npm ci` then calls it out of sync. `npm install --no-save` installs
    // exactly what the lockfile pins and never rewrites it.
    log('npm ci refused the lockfile (platform packages this registry lacks); using npm install --no-save');
    result = await run('npm', ['install', '--no-save', ...NPM_FLAGS], deadline - Date.now());
  }
  if (result.timedOut)
    fail(`npm did not finish within ${TOTAL_MS / 60_000} min\n${result.output.slice(-4000)}`);
  if (result.code !== 0) fail(`npm exited with ${result.code}\n${result.output.slice(-4000)}`);
  if (!readFileSync(join(PREFIX, 'package-lock.json')).equals(lockBefore)) {
    fail(
      'npm rewrote test/e2e/package-lock.json; the pinned versions no longer match it (restore it or re-pin)',
    );
  }
  checkPins();
  const versions = {};
  // A throwaway HOME: some CLIs create their config dirs even for --version.
  const home = mkdtempSync(join(tmpdir(), 'a2a-e2e-clis-home-'));
  try {
    for (const bin of BINS) versions[bin] = await version(bin, home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  writeFileSync(
    MARKER,
    `${JSON.stringify({ hash, installedAt: new Date().toISOString(), versions }, null, 2)}\n`,
  );
  for (const [bin, text] of Object.entries(versions)) log(`  ${bin}: ${text}`);
}

/** Each CLI installed at exactly its pin, which the lockfile records too (`npm install --no-save` would not). */
function checkPins() {
  const pins = JSON.parse(readFileSync(join(PREFIX, 'package.json'), 'utf8')).dependencies ?? {};
  const locked = JSON.parse(readFileSync(join(PREFIX, 'package-lock.json'), 'utf8')).packages ?? {};
  for (const [name, pin] of Object.entries(pins)) {
    const lockedVersion = locked[`node_modules/${name}`]?.version;
    if (lockedVersion !== pin) {
      fail(
        `${name} is pinned to ${pin} but the lockfile has ${lockedVersion}; run npm install --prefix test/e2e`,
      );
    }
    const installed = JSON.parse(readFileSync(join(MODULES, name, 'package.json'), 'utf8')).version;
    if (installed !== pin) fail(`${name} ${installed} got installed, not the pinned ${pin}`);
  }
}

async function version(bin, home) {
  const path = join(MODULES, '.bin', bin);
  if (!existsSync(path)) fail(`${path} is missing after the install`);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  const r = await run(path, ['--version'], Math.min(VERSION_MS, deadline - Date.now()), env);
  if (r.code !== 0) {
    fail(
      `${bin} --version exited with ${r.timedOut ? 'a timeout' : r.code} (did its postinstall run? see ` +
        `allowScripts in test/e2e/package.json)\n${r.output.slice(-2000)}`,
    );
  }
  const lines = r.output.trim().split('\n');
  return lines.find((line) => /\d+\.\d+\.\d+/.test(line) && !/WARNING/.test(line)) ?? lines[0] ?? '';
}

async function main() {
  const hash = inputsHash();
  if (!force && upToDate(hash)) {
    log(`up to date, nothing to do (${seconds()})`);
    return;
  }
  await lock();
  try {
    if (!force && upToDate(hash)) {
      log(`installed meanwhile by another process (${seconds()})`);
    } else {
      await install(hash);
      log(`installed ${BINS.length} CLIs in ${seconds()}`);
    }
  } finally {
    unlock();
  }
}

try {
  await main();
} catch (error) {
  const message = error instanceof InstallError ? error.message : (error?.stack ?? String(error));
  console.error(`install-e2e-clis: FAILED after ${seconds()}: ${message}`);
  process.exit(1);
}
