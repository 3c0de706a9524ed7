/**
 * `weft completion bash|zsh`: a completion script made from the command
 * tree itself, so it never lists a command that does not exist.
 *
 * @example
 *   source <(weft completion bash)
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";

/** Every command path and the flags it takes, e.g. `runs ls` → `--workflow --status …`. */
export function commandTree(program: Command): Map<string, string[]> {
  const tree = new Map<string, string[]>();
  const walk = (cmd: Command, path: string[]): void => {
    const flags = cmd.options.map((o) => o.long ?? o.short ?? "").filter(Boolean);
    tree.set(path.join(" "), [...cmd.commands.map((c) => c.name()), ...flags]);
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return tree;
}

function bashScript(tree: Map<string, string[]>): string {
  const cases = [...tree].map(([path, words]) => `    "${path}") words="${words.join(" ")}" ;;`).join("\n");
  return `# weft completion for bash: source <(weft completion bash)
_weft() {
  local cur path="" i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) path="\${path:+$path }\${COMP_WORDS[i]}" ;; esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _weft weft
`;
}

function zshScript(tree: Map<string, string[]>): string {
  return `#compdef weft
# weft completion for zsh: source <(weft completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(tree)}`;
}

/** Registers `completion` on the program. */
export function registerCompletionCommand(program: Command): void {
  program
    .command("completion <shell>")
    .description("print a completion script for bash or zsh")
    .addHelpText("after", "\nExample:\n  source <(weft completion bash)")
    .action((shell: string) => {
      const tree = commandTree(program);
      if (shell === "bash") process.stdout.write(bashScript(tree));
      else if (shell === "zsh") process.stdout.write(zshScript(tree));
      else throw new UsageError(`completion: expected bash or zsh, got "${shell}"`);
    });
}
