import type { Command } from 'commander';
import { STATE_NAMES } from './state-names.js';

interface CommandShape {
  /** `send`, `tasks list`, ... ('' for the program itself). */
  path: string;
  options: string[];
  subcommands: string[];
}

function shapes(cmd: Command, prefix: string, globals: string[]): CommandShape[] {
  const own = cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const out: CommandShape[] = [
    {
      path: prefix,
      options: [...new Set([...own, ...globals, '--help'])],
      subcommands: cmd.commands.map((c) => c.name()),
    },
  ];
  for (const sub of cmd.commands)
    out.push(...shapes(sub, prefix ? `${prefix} ${sub.name()}` : sub.name(), globals));
  return out;
}

function valueOptions(cmd: Command): string[] {
  const own = cmd.options
    .filter((o) => o.required || o.optional)
    .map((o) => o.long)
    .filter((l): l is string => Boolean(l));
  return [...new Set([...own, ...cmd.commands.flatMap(valueOptions)])];
}

/**
 * A bash completion script for the program as commander describes it: commands, subcommands and options, skill
 * names from the gateway (`skills --ids`), states, and files for `--workdir` and `--input`.
 */
export function bashCompletion(program: Command): string {
  const globals = program.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  const all = shapes(program, '', globals);
  const cases = all
    .map((s) => `    "${s.path}") words="${[...s.subcommands, ...s.options].join(' ')}" ;;`)
    .join('\n');
  const takesValue = valueOptions(program).join('|');
  const name = program.name();
  return `# ${name} completion for bash (zsh: ${name} completion zsh). Load it with: source <(${name} completion bash)
_a2a_gateway() {
  local cur prev path="" skip=0 i w words=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    --skill) COMPREPLY=( $(compgen -W "$(${name} skills --ids 2>/dev/null)" -- "$cur") ); return ;;
    --state) COMPREPLY=( $(compgen -W "${STATE_NAMES.join(' ')}" -- "$cur") ); return ;;
    --workdir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    --input) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    ${takesValue}) return ;;
  esac
  for (( i=1; i<COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    if (( skip )); then skip=0; continue; fi
    case "$w" in
      ${takesValue}) skip=1 ;;
      -*) ;;
      *) case "$path" in
           "") path="$w" ;;
           tasks|completion) path="$path $w" ;;
         esac ;;
    esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _a2a_gateway ${name}
`;
}

/** zsh runs the bash function through bashcompinit. */
export function zshCompletion(program: Command): string {
  return `#compdef ${program.name()}
# Load it with: source <(${program.name()} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
}
