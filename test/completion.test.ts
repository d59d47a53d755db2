/**
 * Shell completion: the hidden `__complete` command, and the scripts of `smartmeter completion`
 * loaded into real bash, zsh and fish, each asked for completions as the shell asks at <TAB>
 * (bash: the registered function with COMP_WORDS/COMP_CWORD; zsh: a real completion widget on a
 * pseudo-terminal through zsh's zpty module; fish: `complete -C`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { complete } from '../src/completion/complete.js';
import { commandSpec } from '../src/completion/model.js';
import { serviceKeys } from '../src/completion/values.js';
import { BIN, ROOT, runCli, runTool } from './helpers/cli.js';

/** A directory whose `smartmeter` is this checkout's, first on the shells' PATH. */
const BIN_DIR = mkdtempSync(join(tmpdir(), 'smartmeter-completion-bin-'));
symlinkSync(BIN, join(BIN_DIR, 'smartmeter'));
/** The shells' home: fish writes its history and variables there. */
const HOME = mkdtempSync(join(tmpdir(), 'smartmeter-completion-home-'));
const SHELL_ENV = { PATH: `${BIN_DIR}:${process.env.PATH}`, HOME, TERM: 'xterm', NO_COLOR: '1', XDG_CONFIG_HOME: join(HOME, '.config'), XDG_DATA_HOME: join(HOME, '.local', 'share') };

const installed = (shell: string) => runTool(shell, ['-c', 'exit 0'])?.status === 0;
const SHELLS = { bash: installed('bash'), zsh: installed('zsh'), fish: installed('fish') };
for (const [shell, found] of Object.entries(SHELLS)) {
  if (found) continue;
  if (process.env.CI === 'true') throw new Error(`CI needs ${shell} for the completion tests (apt-get install ${shell}); .ci/run installs it`);
  console.warn(`skipping the ${shell} completion tests: install ${shell} (apt-get install ${shell}) to run them`);
}

/** The candidates `__complete` prints for `words` (the last one is completed), without the directive line. */
function candidates(words: string[], cwd = ROOT): { directive: string; values: string[]; stderr: string; status: number | null } {
  const run = runCli(['__complete', '--', ...words], { cwd });
  const [directive = '', ...lines] = run.stdout.split('\n').filter(Boolean);
  return { directive, values: lines.map((line) => line.split('\t')[0]!), stderr: run.stderr, status: run.status };
}

/** A stack as `up` records it, in a state directory of its own: its compose file has these services. */
function recordedStack(services: string[]): string {
  const stateDir = mkdtempSync(join(tmpdir(), 'smartmeter-completion-state-'));
  // The layout of src/runtime/state.ts: <root>/stacks/<runtime>/<name>/stack.json.
  const dir = join(stateDir, 'stacks', 'compose', 'demo');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, `services:\n${services.map((s) => `  ${s}:\n    image: busybox\n`).join('')}networks:\n  default: {}\n`);
  writeFileSync(join(dir, 'stack.json'), JSON.stringify({ runtime: 'compose', name: 'demo', file, createdNetworks: [], createdAt: new Date().toISOString() }));
  return stateDir;
}

describe('__complete (what the scripts ask)', () => {
  it('completes the commands, with the hidden one left out', () => {
    const result = candidates(['']);
    expect(result.directive).toBe('words');
    expect(result.values).toEqual(expect.arrayContaining(['combine', 'up', 'down', 'status', 'logs', 'cassandra', 'inject', 'completion', 'stacks', 'init', 'help']));
    expect(result.values).not.toContain('__complete');
    expect(candidates(['cassandra', '']).values).toEqual(expect.arrayContaining(['init', 'stats']));
    expect(candidates(['help', 'sta']).values).toEqual(['status', 'stacks']);
  });

  it('completes the mode words, then the targets of the hierarchy not yet typed', () => {
    expect(candidates(['up', '']).values).toEqual(['local', 'remote']);
    expect(candidates(['up', 'local', '']).values).toEqual(['single', 'cluster']);
    expect(candidates(['up', 'local', 'single', '']).values).toEqual(['secrets', 'no_secrets']);
    expect(candidates(['up', 'local', 'single', 'no_secrets', 'inj']).values).toEqual(['inject', 'inject_metrics']);
    const more = candidates(['combine', 'local', 'single', 'no_secrets', 'inject', '']).values;
    expect(more).toEqual(expect.arrayContaining(['root', 'cassandra_inject', 'root_metrics']));
    expect(more).not.toContain('inject');
  });

  it('completes option names, leaving out those given once, and option values with choices', () => {
    expect(candidates(['up', '--ti']).values).toEqual(['--timeout']);
    expect(candidates(['up', '--runtime', '']).values).toEqual(['compose', 'swarm', 'helm']);
    expect(candidates(['up', '--runtime=h']).values).toEqual(['--runtime=helm']);
    expect(candidates(['combine', '--format', '']).values).toEqual(['compose', 'helm']);
    expect(candidates(['up', '--runtime', 'helm', '--r']).values).toEqual([]);
    // --set is repeatable: offered again.
    expect(candidates(['up', '--set', 'A=1', '--se']).values).toEqual(expect.arrayContaining(['--set', '--secrets-dir']));
    // A program option is accepted after the command too.
    expect(candidates(['up', '--deb']).values).toEqual(['--debug']);
  });

  it('asks the shell for directories and files where the option takes one', () => {
    expect(candidates(['combine', '-p', '']).directive).toBe('dirs');
    expect(candidates(['combine', '--properties=al']).directive).toBe('dirs');
    expect(candidates(['combine', '-o', '']).directive).toBe('files');
    expect(candidates(['up', '--values', '']).directive).toBe('files');
    expect(candidates(['inject', '--report', '']).directive).toBe('files');
  });

  it('completes service names: of the recorded stack for logs, of the targets typed for up --without', () => {
    const stateDir = recordedStack(['alpha', 'beta_two']);
    expect(candidates(['logs', '--state-dir', stateDir, '--name', 'demo', '']).values).toEqual(['alpha', 'beta_two']);
    expect(candidates(['down', '--state-dir', stateDir, '--name', '']).values).toEqual(['demo']);
    // No record: every service of the fragments.
    const all = candidates(['logs', '--state-dir', join(stateDir, 'none'), '']).values;
    expect(all).toEqual(expect.arrayContaining(['nats', 'inject', 'cassandra_inject', 'grafana']));
    expect(candidates(['up', 'local', 'single', 'no_secrets', 'inject', '--without', '']).values).toEqual(['inject', 'nats']);
    // A comma-separated list: the last item is completed, the others kept.
    expect(candidates(['up', 'local', 'single', 'no_secrets', 'inject', '--without', 'nats,']).values).toEqual(['nats,inject']);
  });

  it('prints nothing on stderr and exits 0 whatever it is given', () => {
    for (const words of [
      [],
      ['--', 'nonsense', '--what', ''],
      ['--', 'logs', '--state-dir', '/nonexistent/dir', '--name', 'Not A Name!', ''],
      ['--', 'combine', '--templates', '/nonexistent', 'local', 'single', 'secrets', ''],
      ['--', 'up', '--runtime=bad', '--help', '-V', ''],
      // Words that are options of the program itself are only words here (the scripts put `--` first).
      ['--', '--version', '-h', ''],
    ]) {
      const run = runCli(['__complete', ...words]);
      expect({ words, stderr: run.stderr, status: run.status }).toEqual({ words, stderr: '', status: 0 });
      expect(run.stdout.split('\n')[0]).toMatch(/^(words|files|dirs)$/);
    }
  });

  it('follows the command definitions: a new command and option complete without new completion code', async () => {
    const program = buildProgram();
    program
      .command('frobnicate')
      .summary('a command made up for this test')
      .option('--colour <name>', 'a colour')
      .addOption(new Option('--shape <shape>', 'a shape').choices(['round', 'square']))
      .argument('[things...]');
    const spec = commandSpec(program);
    expect((await complete(spec, ['frob'])).candidates.map((c) => c.value)).toEqual(['frobnicate']);
    expect((await complete(spec, ['frobnicate', '--'])).candidates.map((c) => c.value)).toEqual(expect.arrayContaining(['--colour', '--shape', '--help', '--debug']));
    expect((await complete(spec, ['frobnicate', '--shape', ''])).candidates.map((c) => c.value)).toEqual(['round', 'square']);
  });

  it('reads the service names of a compose file at its first indentation only', () => {
    expect(serviceKeys('version: "3"\nservices:\n  a:\n    environment:\n      B: 1\n  "c-d":\n    image: x\nnetworks:\n  e: {}\n')).toEqual(['a', 'c-d']);
  });
});

describe('smartmeter completion', () => {
  it('leads its help with the install examples of each shell', () => {
    const run = runCli(['completion', '--help']);
    expect(run.status).toBe(0);
    // The help layout of every command: usage and description, then the examples, then the lists.
    for (const shell of ['bash', 'zsh', 'fish']) expect(run.stdout).toContain(`smartmeter completion ${shell}`);
    expect(run.stdout.indexOf('Examples:')).toBeGreaterThan(run.stdout.indexOf('Usage:'));
    expect(run.stdout.indexOf('Examples:')).toBeLessThan(run.stdout.indexOf('Arguments:'));
  });

  it('refuses an unknown shell with one line on stderr', () => {
    const run = runCli(['completion', 'tcsh']);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/tcsh.*bash, zsh, fish/);
  });
});

function shellRun(shell: string, args: string[], input?: string): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(shell, args, { cwd: ROOT, env: SHELL_ENV, encoding: 'utf8', input, timeout: 50_000 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe.skipIf(!SHELLS.bash)('bash', () => {
  /** Loads the script, then asks its registered function for each line (the shell's COMP_WORDS split by spaces). */
  function bashComplete(lines: string[]): { registration: string; answers: string[][] } {
    const script = [
      'source <(smartmeter completion bash)',
      'complete -p smartmeter',
      'fn=$(complete -p smartmeter | sed -n "s/.*-F \\([^ ]*\\).*/\\1/p")',
      'ask() { read -ra COMP_WORDS <<< "$1"; [[ $1 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE=$1; COMP_POINT=${#1}; COMPREPLY=(); "$fn"; echo "${COMPREPLY[*]}"; }',
      ...lines.map((line) => `ask ${JSON.stringify(line)}`),
    ].join('\n');
    const run = shellRun('bash', ['--norc', '--noprofile'], script);
    expect(run.stderr).toBe('');
    const [registration = '', ...answers] = run.stdout.split('\n');
    return { registration, answers: answers.slice(0, lines.length).map((a) => a.split(' ').filter(Boolean)) };
  }

  it('loads (complete -p) and answers requests', () => {
    const { registration, answers } = bashComplete([
      'smartmeter up local single no_secrets inj',
      'smartmeter up --runtime ',
      'smartmeter sta',
      'smartmeter up --tim',
      'smartmeter combine -p alt_',
      'smartmeter up local single no_secrets inject --without nats,',
    ]);
    expect(registration).toBe('complete -F _smartmeter_complete smartmeter');
    expect(answers).toEqual([['inject', 'inject_metrics'], ['compose', 'swarm', 'helm'], ['status', 'stacks'], ['--timeout'], ['alt_properties'], ['nats,inject']]);
  });

  it('completes --flag=value, which bash splits at "="', () => {
    const run = shellRun(
      'bash',
      ['--norc', '--noprofile'],
      [
        'source <(smartmeter completion bash)',
        'COMP_WORDS=(smartmeter up --runtime = h); COMP_CWORD=4; _smartmeter_complete; echo "${COMPREPLY[*]}"',
        'COMP_WORDS=(smartmeter up --runtime =); COMP_CWORD=3; _smartmeter_complete; echo "${COMPREPLY[*]}"',
      ].join('\n'),
    );
    // bash replaces only the text after "=": the candidates are the values alone.
    expect(run.stdout.split('\n').slice(0, 2)).toEqual(['helm', 'compose swarm helm']);
  });
});

describe.skipIf(!SHELLS.zsh)('zsh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-completion-zsh-'));
  // In the interactive zsh: compinit, the script (sourced, or autoloaded from $fpath), and a
  // record of the matches offered: compadd (the builtin every completion function ends in) is
  // wrapped to write the matches it is given, after zsh filtered them by the word typed
  // (`compadd -O` does that without adding them). ^T completes, then marks the end.
  const setup = (loading: string) => `PS1='> '
${loading}
print -r -- "comps=\${_comps[smartmeter]}" >> "$SM_OUT"
compadd() {
  if (( \${@[(I)-[OAD]*]} )); then builtin compadd "$@"; return; fi
  local -a offered
  builtin compadd -O offered "$@"
  (( \${#offered} )) && print -rl -- "\${offered[@]}" >> "$SM_OUT"
  builtin compadd "$@"
}
sm_complete_then_mark() { zle complete-word; print -r -- '--end--' >> "$SM_OUT"; }
zle -N sm_complete_then_mark
bindkey '^T' sm_complete_then_mark
`;
  const fpathDir = join(dir, 'functions');
  mkdirSync(fpathDir);
  writeFileSync(join(fpathDir, '_smartmeter'), runCli(['completion', 'zsh']).stdout);
  writeFileSync(join(dir, 'sourced.zsh'), setup('autoload -U compinit; compinit -u -D\nsource <(smartmeter completion zsh)'));
  writeFileSync(join(dir, 'autoloaded.zsh'), setup(`fpath=(${fpathDir} $fpath)\nautoload -U compinit; compinit -u -D`));
  // The driver: an interactive zsh on a pseudo-terminal, the line typed, then ^T.
  writeFileSync(
    join(dir, 'drive.zsh'),
    `zmodload zsh/zpty
export SM_OUT=$1
: > "$SM_OUT"
zpty -b sm 'zsh -f -i'
zpty -w sm "source \${(q)2}"
zpty -w -n sm "$3"$'\\x14'
for i in {1..300}; do
  while zpty -rt sm chunk; do :; done
  grep -q -- '--end--' "$SM_OUT" && break
  sleep 0.1
done
zpty -d sm
cat "$SM_OUT"
`,
  );

  /** The matches zsh offers for `line` typed at the prompt, and what `$_comps[smartmeter]` was. */
  function zshComplete(line: string, loading: 'sourced' | 'autoloaded' = 'sourced'): { comps: string; matches: string[]; ended: boolean } {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const run = shellRun('zsh', ['-f', join(dir, 'drive.zsh'), out, join(dir, `${loading}.zsh`), line]);
    const lines = run.stdout.split('\n').filter(Boolean);
    const comps = lines.find((l) => l.startsWith('comps='))?.slice('comps='.length) ?? '';
    return { comps, matches: [...new Set(lines.filter((l) => !l.startsWith('comps=') && l !== '--end--'))], ended: lines.includes('--end--') };
  }

  it('loads after compinit ($_comps[smartmeter]) and answers with the runtimes', () => {
    const result = zshComplete('smartmeter up --runtime ');
    expect(result).toEqual({ comps: '_smartmeter', matches: ['compose', 'swarm', 'helm'], ended: true });
  });

  it('completes targets, commands, --flag=value, list items and directories', () => {
    expect(zshComplete('smartmeter up local single no_secrets inj').matches).toEqual(['inject', 'inject_metrics']);
    expect(zshComplete('smartmeter cassandra ').matches).toEqual(expect.arrayContaining(['init', 'stats']));
    expect(zshComplete('smartmeter up --runtime=s').matches).toEqual(['--runtime=swarm']);
    expect(zshComplete('smartmeter up local single no_secrets inject --without nats,').matches).toEqual(['nats,inject']);
    expect(zshComplete('smartmeter combine -p alt_').matches).toEqual(['alt_properties']);
  });

  it('works autoloaded from $fpath as _smartmeter', () => {
    const result = zshComplete('smartmeter up --runtime ', 'autoloaded');
    expect(result).toEqual({ comps: '_smartmeter', matches: ['compose', 'swarm', 'helm'], ended: true });
  });
});

describe.skipIf(!SHELLS.fish)('fish', () => {
  /** `complete -C` for each line, after loading the script: fish's own completion request. */
  function fishComplete(lines: string[]): string[][] {
    const script = ['smartmeter completion fish | source', ...lines.map((line) => `complete -C ${JSON.stringify(line).replaceAll('$', '\\$')}; echo --end--`)].join('\n');
    const run = shellRun('fish', ['--no-config', '-c', script]);
    expect(run.stderr).toBe('');
    const answers: string[][] = [[]];
    for (const line of run.stdout.split('\n')) {
      if (line === '--end--') answers.push([]);
      else if (line) answers.at(-1)!.push(line.split('\t')[0]!);
    }
    return answers.slice(0, lines.length);
  }

  it('answers complete -C with runtimes, targets, commands, options and paths', () => {
    expect(
      fishComplete([
        'smartmeter up --runtime ',
        'smartmeter up local single no_secrets inj',
        'smartmeter sta',
        'smartmeter up --tim',
        'smartmeter up --runtime=s',
        'smartmeter combine -p alt_',
        'smartmeter combine --output=alt_',
      ]),
    ).toEqual([
      // fish sorts the candidates itself.
      ['compose', 'helm', 'swarm'],
      ['inject', 'inject_metrics'],
      ['stacks', 'status'],
      ['--timeout'],
      ['--runtime=swarm'],
      ['alt_properties/'],
      ['--output=alt_properties/'],
    ]);
  });
});
