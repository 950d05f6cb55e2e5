/** The skills that change code: fix_bug, refactor_code, write_unit_tests, improve_code_quality and code. */
import { z } from 'zod';
import { CHANGE_OUTPUT_MODES, defineSkill } from './define.js';
import {
  files,
  finding,
  instructions,
  testCommand,
  verifyOptions,
  workdir,
  workspaceOptions,
} from './fields.js';
import { fenced, preamble, quoted, sections, steps } from './prompt-text.js';

function filesLine(label: string, paths: readonly string[] | undefined): string | undefined {
  return paths && paths.length > 0 ? `${label}: ${quoted(paths)}` : undefined;
}

function testStep(command: string | undefined, fallback: string): string {
  return command !== undefined
    ? `Run the caller's test command ${quoted(command)} and make it pass. If it fails for reasons unrelated to your change, say so rather than changing unrelated code.`
    : fallback;
}

const fixBugInput = z
  .strictObject({
    bug_description: instructions(
      'The bug to fix: what goes wrong, what should happen instead, and how to reproduce it (error messages and stack traces help). May be left out when finding names the problem.',
    ).optional(),
    finding,
    workdir,
    ...workspaceOptions,
    files,
    context_files: z
      .array(z.string().trim().min(1))
      .min(1)
      .optional()
      .describe('Files related to the bug: the same as files, under the name the original gateway used.'),
    test_command: testCommand,
    ...verifyOptions,
  })
  .superRefine((input, ctx) => {
    if (input.bug_description === undefined && input.finding === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['bug_description'],
        message:
          'a non-empty string (the bug to fix), or input.finding naming a finding of an earlier review',
      });
    }
  });

/** fix_bug: root-cause a described bug and fix it. Runs on droid by default, as in the brief. */
export const fixBug = defineSkill({
  id: 'fix_bug',
  name: 'Fix bug',
  description:
    'Finds the root cause of a described bug in a project, fixes it with a minimal change, adds a regression test where the project has tests, runs the tests when given a test command, and returns a summary and the diff. Send bug_description (plain text works) and workdir, the project directory on the gateway machine.',
  tags: ['bug', 'fix', 'debugging', 'code'],
  examples: [
    'Fix the memory leak in the task store: memory grows with every completed task and is never released.',
    '{"bug_description": "POST /login returns 500 when the password contains a colon", "workdir": "/srv/repos/api", "test_command": "npm test"}',
    'The CSV export drops the last row when the file does not end with a newline; fix it.',
  ],
  input: fixBugInput,
  mainField: 'bug_description',
  oneOfRequired: ['bug_description', 'finding'],
  defaultBackend: 'droid',
  readOnly: false,
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) => {
    const related = [...new Set([...(input.files ?? []), ...(input.context_files ?? [])])];
    return sections(
      preamble('fix_bug', false),
      'Task: fix the bug the caller describes below.',
      `Bug report:\n${fenced(input.bug_description ?? `The finding ${input.finding ?? ''} of an earlier review.`)}`,
      filesLine('Files the caller points to (start there; the cause may be elsewhere)', related),
      steps(
        'Read the relevant code and reproduce the bug, or locate it precisely if it cannot be reproduced here.',
        'Find the root cause; do not just suppress the symptom (no blanket try/catch, no special-casing the reported input).',
        "Fix it with the smallest change that removes the cause, in the project's existing style. Do not refactor or reformat unrelated code.",
        'Where the project has tests, add or update one that fails without the fix and passes with it.',
        testStep(
          input.test_command,
          "Run the project's tests that cover your change, if it has any and they run here.",
        ),
      ),
      'Finish with a short summary: the root cause, the fix, the files you changed, and the commands you ran with their results. If you could not fix the bug, say what you found and what is left.',
    );
  },
});

const refactorInput = z.strictObject({
  instructions: instructions(
    'What to refactor and the goal: for example "split src/server.ts into routing and handlers" or "replace callbacks with async/await in lib/db".',
  ),
  workdir,
  ...workspaceOptions,
  files,
  test_command: testCommand,
  ...verifyOptions,
});

/** refactor_code: restructure code without changing what it does. */
export const refactorCode = defineSkill({
  id: 'refactor_code',
  name: 'Refactor code',
  description:
    'Restructures code as instructed without changing its behaviour (renames, extractions, splitting modules, modernising idioms), runs the tests when given a test command, and returns a summary and the diff. Send instructions (plain text works), workdir, and optionally the files to refactor.',
  tags: ['refactor', 'code', 'maintainability'],
  examples: [
    'Split src/server.ts into a router module and a handlers module; keep the public exports unchanged.',
    '{"instructions": "Replace the callback-style database helpers with async/await", "workdir": "/srv/repos/api", "files": ["lib/db.js"]}',
    'Extract the retry logic duplicated in the three HTTP clients into one shared helper.',
  ],
  input: refactorInput,
  mainField: 'instructions',
  defaultBackend: 'claude',
  readOnly: false,
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('refactor_code', false),
      'Task: refactor the code as the caller asks below, without changing its behaviour.',
      `Refactoring request:\n${fenced(input.instructions)}`,
      filesLine('Files to refactor', input.files),
      steps(
        'Read the code involved and everything that calls it before changing it.',
        'Make the change in small, behaviour-preserving steps. Keep public interfaces, outputs and error behaviour the same unless the request says otherwise, and update every caller of anything you rename or move.',
        "Follow the project's existing style; do not reformat code you are not otherwise changing.",
        testStep(
          input.test_command,
          "Run the project's tests and type checks if it has them, and make sure they still pass.",
        ),
      ),
      'Finish with a short summary: what you restructured and why, the files you changed, anything whose behaviour did change, and the commands you ran with their results.',
    ),
});

const unitTestsInput = z.strictObject({
  target: instructions(
    'What to test: a file, module, function or feature, for example "src/skills/input.ts" or "the retry logic in the HTTP client".',
  ),
  workdir,
  ...workspaceOptions,
  framework: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      "Test framework to use: for example vitest, jest, pytest, go test. Omit it to use the project's own.",
    ),
  test_command: testCommand,
  ...verifyOptions,
});

/** write_unit_tests: add tests for a target without changing the code under test. */
export const writeUnitTests = defineSkill({
  id: 'write_unit_tests',
  name: 'Write unit tests',
  description:
    "Writes unit tests for the given target (file, module, function or feature) in the project's test framework, covering normal, edge and error cases, runs them, and returns a summary and the diff. It does not change the code under test; bugs the tests expose are reported. Send target (plain text works) and workdir.",
  tags: ['tests', 'unit-tests', 'quality'],
  examples: [
    'Write unit tests for src/skills/input.ts.',
    '{"target": "the retry logic in lib/http-client.ts", "workdir": "/srv/repos/api", "framework": "vitest"}',
    'Add tests for the date parsing helpers, including invalid and timezone-edge inputs.',
  ],
  input: unitTestsInput,
  mainField: 'target',
  defaultBackend: 'claude',
  readOnly: false,
  returnsFiles: true,
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('write_unit_tests', false),
      'Task: write unit tests for the target the caller names below.',
      `What to test:\n${fenced(input.target)}`,
      input.framework !== undefined
        ? `Test framework the caller asks for: ${quoted(input.framework)}.`
        : "Use the project's existing test framework and conventions; if it has none, pick the standard one for its language and say so.",
      steps(
        'Read the target and how it is used, and find where and how the project keeps its tests.',
        'Write focused tests for its behaviour: normal cases, edge cases (empty, boundary, large inputs) and error cases. Test through the public interface; avoid mocking what can run for real.',
        'Do not change the code under test. If a test exposes a bug, keep the test, mark it skipped or expected-to-fail with a comment naming the bug, and report it.',
        testStep(
          input.test_command,
          'Run the new tests and make sure they pass (apart from tests you marked for a bug).',
        ),
      ),
      'Finish with a short summary: the test files you added or changed, what they cover, any bugs found, and the commands you ran with their results.',
    ),
});

const qualityInput = z.strictObject({
  focus: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      'What to improve: for example "error handling in the HTTP layer" or "type safety". Omit it for a general pass over readability, duplication, dead code and error handling.',
    ),
  workdir,
  ...workspaceOptions,
  files,
  test_command: testCommand,
  ...verifyOptions,
});

/** improve_code_quality: behaviour-preserving clean-up, optionally focused. */
export const improveCodeQuality = defineSkill({
  id: 'improve_code_quality',
  name: 'Improve code quality',
  description:
    'Makes behaviour-preserving improvements to code quality (readability, naming, duplication, dead code, error handling, types), optionally focused on a concern or on given files, keeps the project tests and linters passing, and returns a summary and the diff. Send focus (plain text works; optional) and workdir.',
  tags: ['quality', 'cleanup', 'lint', 'code'],
  examples: [
    'Improve error handling in the HTTP layer: no swallowed errors, clear messages.',
    '{"focus": "type safety: remove any casts", "workdir": "/srv/repos/api", "files": ["src/store.ts", "src/queue.ts"]}',
    'Clean up dead code and duplication in the utils folder.',
  ],
  input: qualityInput,
  mainField: 'focus',
  defaultBackend: 'claude',
  readOnly: false,
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('improve_code_quality', false),
      'Task: improve the quality of the code without changing its behaviour.',
      input.focus !== undefined
        ? `What the caller wants improved:\n${fenced(input.focus)}`
        : 'The caller gave no focus: make a general pass over readability, naming, duplication, dead code, error handling and type safety, and pick the changes that matter most.',
      filesLine('Files to work on', input.files),
      steps(
        "Read the code and note the project's conventions, linters and type checks.",
        'Make the improvements that clearly pay off; keep behaviour, public interfaces and outputs the same. Prefer a few meaningful changes over many cosmetic ones, and do not reformat code you are not otherwise changing.',
        testStep(
          input.test_command,
          "Run the project's tests, linters and type checks if it has them, and keep them passing.",
        ),
      ),
      'Finish with a short summary: each improvement and why it helps, the files you changed, and the commands you ran with their results.',
    ),
});

const codeInput = z.strictObject({
  instructions: instructions(
    'What to do: any coding task in plain words, for example "add a --verbose flag to the CLI" or "explain how the scheduler picks the next job".',
  ),
  workdir,
  ...workspaceOptions,
});

/** code: the general skill for work that fits no other. */
export const code = defineSkill({
  id: 'code',
  name: 'Coding task',
  description:
    'Carries out any coding task described in plain words (implement a feature, change a configuration, answer a question about the code) and returns a summary and the diff of any changes. Use a more specific skill when one fits. Send instructions (plain text works) and workdir.',
  tags: ['code', 'general'],
  examples: [
    'Add a --verbose flag to the CLI that prints each request and response.',
    '{"instructions": "Explain how the scheduler picks the next job and where the retry delay is set", "workdir": "/srv/repos/worker"}',
    'Add a /version endpoint that returns the package version as JSON, with a test.',
  ],
  input: codeInput,
  mainField: 'instructions',
  defaultBackend: 'claude',
  readOnly: false,
  outputModes: CHANGE_OUTPUT_MODES,
  prompt: (input) =>
    sections(
      preamble('code', false),
      'Task: do what the caller asks below.',
      `Request:\n${fenced(input.instructions)}`,
      steps(
        'Read the code involved before changing anything.',
        "Make the change the request needs and nothing more, in the project's existing style. If the request is a question, answer it and change no files.",
        "Run the project's tests or checks that cover your change, if it has any and they run here.",
      ),
      'Finish with a short summary: what you did, the files you changed, and the commands you ran with their results (or, for a question, the answer).',
    ),
});
