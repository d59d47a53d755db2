/**
 * `smartmeter completion <bash|zsh|fish>` prints a completion script; the hidden
 * `smartmeter __complete -- <words…>` answers the script at every <TAB>. Both read the
 * program's command tree at run time, so they need no list of commands of their own.
 */
import { Argument, Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { withExamples } from '../cli-kit.js';

/** The command's name on the command line (cli.ts builds only the named command's definition). */
export const name = 'completion';

/** The program a command was registered under (the root of the tree the scripts complete). */
function rootOf(command: CommandUnknownOpts): CommandUnknownOpts {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

const EXAMPLES = [
  'source <(smartmeter completion bash)               # bash, this shell (add the line to ~/.bashrc)',
  'smartmeter completion bash > ~/.local/share/bash-completion/completions/smartmeter',
  'source <(smartmeter completion zsh)                # zsh, this shell (add it to ~/.zshrc, after compinit)',
  'smartmeter completion zsh > ~/.zfunc/_smartmeter   # zsh, with fpath=(~/.zfunc $fpath) before compinit',
  'smartmeter completion fish > ~/.config/fish/completions/smartmeter.fish',
];

/** The `completion` command: prints the script of the shell named (bash, zsh or fish) on stdout. */
export function command() {
  const completion = new Command(name)
    .summary('print the shell completion script for bash, zsh or fish')
    .description(
      'Print a script that completes smartmeter\'s commands, options, targets, service names and option ' +
        'values in bash, zsh or fish. The script asks smartmeter for the candidates at each <TAB>, so it ' +
        'keeps up with new versions without being installed again.',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish'] as const));
  return withExamples(completion, EXAMPLES).action(async (shell) => {
    const { completionScript } = await import('../completion/scripts.js');
    process.stdout.write(completionScript(shell));
  });
}

/**
 * The hidden `__complete` command the scripts call: `__complete -- <words after smartmeter…>`,
 * the last word being the one under the cursor (empty after a space). Prints a directive line
 * (`words`, `files` or `dirs`) and then one `value<TAB>description` line per candidate. It never
 * fails: whatever goes wrong, it prints no candidates, nothing on stderr, and exits 0.
 */
export function hiddenCommand() {
  const hidden = new Command('__complete')
    .description('answer a completion request of the shell scripts (internal)')
    .argument('[words...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments();
  return hidden.action(async (words) => {
    try {
      const [{ commandSpec }, { complete, formatCompletion }] = await Promise.all([import('../completion/model.js'), import('../completion/complete.js')]);
      process.stdout.write(formatCompletion(await complete(commandSpec(rootOf(hidden)), words.length ? words : [''])));
    } catch {
      process.stdout.write('words\n');
    }
  });
}
