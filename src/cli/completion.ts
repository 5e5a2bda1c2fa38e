// Shell completion: `tsk completion <shell>` prints a script that asks `tsk __complete`
// for candidates, which are read off the commander program itself, so they cannot drift
// from the commands and flags tsk has. Where no candidate applies (a path argument), the
// shells fall back to completing file names.
import type { Argument, Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * Candidates for the last word of `words` (the words after `tsk`; the last one is being
 * typed and may be empty): subcommands, the current command's flags, or a flag's choices.
 */
export function completionCandidates(program: Command, words: string[]): string[] {
  const typed = words.at(-1) ?? '';
  let command = program;
  let pendingOption: Option | undefined;
  let positionals = 0;
  const given = new Set<Option>();
  for (const word of words.slice(0, -1)) {
    if (pendingOption) {
      // bash splits `--registry=etcd` into three words: `--registry`, `=` and `etcd`.
      if (word !== '=') pendingOption = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const option = findOption(command, word.split('=')[0]!);
      if (option) given.add(option);
      if (option && (option.required || option.optional) && !word.includes('=')) pendingOption = option;
      continue;
    }
    const sub = visibleCommands(command).find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      command = sub;
      positionals = 0;
    } else {
      positionals++;
    }
  }
  if (pendingOption) return filter(pendingOption.argChoices ?? [], typed === '=' ? '' : typed);
  if (typed.startsWith('-') && typed.includes('=')) {
    // --registry=et: the flag's choices, written as the whole word.
    const [flag] = typed.split('=') as [string];
    const choices = findOption(command, flag)?.argChoices ?? [];
    return filter(
      choices.map((c) => `${flag}=${c}`),
      typed,
    );
  }
  if (typed.startsWith('-')) {
    // A flag given already is not offered again, unless it may be given more than once (-I).
    const flags = command.options
      .filter((o) => !o.hidden && (!given.has(o) || REPEATABLE.has(o.parseArg as object)))
      .flatMap((o) => (o.long ? [o.long] : []));
    return filter([...flags, '--help'], typed);
  }
  const argument = command.registeredArguments[positionals];
  return filter([...visibleCommands(command).map((c) => c.name()), ...(argument?.argChoices ?? [])], typed);
}

/**
 * Names the values an argument or an option takes, for help and completion, while the
 * command checks them itself (with its own message): commander's choices() would check them first.
 */
export function valuesOf<T extends Argument | Option>(target: T, values: readonly string[]): T {
  target.argChoices = [...values];
  return target;
}

/** Option parsers that collect every value given, so their flag may be given again. */
const REPEATABLE = new WeakSet<object>();

/** Marks an option parser as collecting values: completion offers its flag again after it is given. */
export function repeatable<F extends (value: string, previous: never) => unknown>(parse: F): F {
  REPEATABLE.add(parse);
  return parse;
}

function visibleCommands(command: Command): Command[] {
  // commander marks commands made with { hidden: true } this way; its typings leave the field out.
  return command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
}

function findOption(command: Command, flag: string): Option | undefined {
  return command.options.find((o) => o.long === flag || o.short === flag);
}

function filter(candidates: string[], typed: string): string[] {
  return candidates.filter((c) => c.startsWith(typed));
}

/** The script that makes `shell` complete `tsk` by asking `tsk __complete`. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# tsk completion for bash: add to ~/.bashrc
#   source <(tsk completion bash)
_tsk_complete() {
  local IFS=$'\\n'
  COMPREPLY=($(tsk __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _tsk_complete tsk
`;
    case 'zsh':
      return `#compdef tsk
# tsk completion for zsh: add to ~/.zshrc (after compinit)
#   source <(tsk completion zsh)
_tsk_complete() {
  local -a candidates
  candidates=("\${(@f)$(tsk __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then
    compadd -- "\${candidates[@]}"
  else
    _files
  fi
}
compdef _tsk_complete tsk
`;
    case 'fish':
      return `# tsk completion for fish: save as ~/.config/fish/completions/tsk.fish
#   tsk completion fish > ~/.config/fish/completions/tsk.fish
function __tsk_complete
  set -l words (commandline -opc)
  set -l current (commandline -ct)
  set -l candidates (tsk __complete $words[2..-1] "$current" 2>/dev/null)
  if test (count $candidates) -gt 0
    printf '%s\n' $candidates
  else
    __fish_complete_path "$current"
  end
end
complete -c tsk -f -a '(__tsk_complete)'
`;
  }
}
