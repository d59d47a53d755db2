/**
 * `smartmeter completion <bash|zsh|fish>` prints a completion script; the hidden
 * `smartmeter __complete -- <words…>` answers the script at every <TAB>. Both read the
 * program's command tree at run time, so they need no list of commands of their own.
 */
import { Argument, Command } from 'commander';

/** The program (the root command): commander's `Command`, or extra-typings' `CommandUnknownOpts`. */
type Program = Parameters<Command['copyInheritedSettings']>[0];

const EXAMPLES = `Examples:
  $ source <(smartmeter completion bash)               # bash, this shell (add the line to ~/.bashrc)
  $ smartmeter completion bash > ~/.local/share/bash-completion/completions/smartmeter
  $ source <(smartmeter completion zsh)                # zsh, this shell (add it to ~/.zshrc, after compinit)
  $ smartmeter completion zsh > ~/.zfunc/_smartmeter   # zsh, with fpath=(~/.zfunc $fpath) before compinit
  $ smartmeter completion fish > ~/.config/fish/completions/smartmeter.fish
`;

/**
 * The `completion` command, with `program`'s settings (error output, exit override). Prints the
 * script of the shell named (bash, zsh or fish) on stdout.
 */
export function completionCommand(program: Program) {
  return new Command('completion')
    .copyInheritedSettings(program)
    .summary('print the shell completion script for bash, zsh or fish')
    .description(
      'Print a script that completes smartmeter\'s commands, options, targets, service names and option ' +
        'values in bash, zsh or fish. The script asks smartmeter for the candidates at each <TAB>, so it ' +
        'keeps up with new versions without being installed again.',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText('before', EXAMPLES)
    .action(async (shell: string) => {
      const { completionScript } = await import('../completion/scripts.js');
      process.stdout.write(completionScript(shell as 'bash' | 'zsh' | 'fish'));
    });
}

/**
 * The hidden `__complete` command the scripts call: `__complete -- <words after smartmeter…>`,
 * the last word being the one under the cursor (empty after a space). Prints a directive line
 * (`words`, `files` or `dirs`) and then one `value<TAB>description` line per candidate. It never
 * fails: whatever goes wrong, it prints no candidates, nothing on stderr, and exits 0.
 */
export function completeCommand(program: Program) {
  return new Command('__complete')
    .copyInheritedSettings(program)
    .description('answer a completion request of the shell scripts (internal)')
    .argument('[words...]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (words: string[]) => {
      try {
        const [{ commandSpec }, { complete, formatCompletion }] = await Promise.all([import('../completion/model.js'), import('../completion/complete.js')]);
        process.stdout.write(formatCompletion(await complete(commandSpec(program), words.length ? words : [''])));
      } catch {
        process.stdout.write('words\n');
      }
    });
}
