/**
 * bash is the oracle for `.properties` files: each case is sourced by a real bash in an empty
 * environment and resolved by smartmeter, and every value must be bash's, or smartmeter must
 * refuse the text with a UsageError naming file:line and why. Nothing may differ silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { propertyLayerFiles } from '../src/combine/engine.js';
import { PropertyStore, parsePropertiesFile } from '../src/combine/properties.js';
import { ROOT } from './helpers/cli.js';

const BASH = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
// Node's pipes are sockets, and bash reads ~/.bashrc when its input is a socket (as under
// sshd) unless told not to.
const BASH_FLAGS = ['--norc', '--noprofile'];
const WORK = mkdtempSync(join(tmpdir(), 'smartmeter-properties-bash-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

interface BashResult {
  /** Every variable the files set; names bash had before are left out (no case sets one). */
  values: Record<string, string>;
  /** What bash said on stderr, and a failed `.`: a file bash rejects. */
  complaint: string;
  /** `date +%s` just before and just after sourcing. */
  now: [number, number];
}

/**
 * Sources `files` in order, as the old templater did (`set -a; . file`), in `env -i` and
 * lists the variables that were not there before, separated by NUL so values may hold newlines.
 */
function sourceInBash(files: string[]): BashResult {
  const script = [
    ':', // sets PIPESTATUS, so that it counts as there before
    'mapfile -t __sm_before < <(compgen -v)',
    'declare -A __sm_seen; for __sm_n in "${__sm_before[@]}"; do __sm_seen[$__sm_n]=1; done',
    '__sm_t0=$(date +%s)',
    '__sm_status=0',
    'set -a',
    ...files.map((file) => `. ${JSON.stringify(file)} || __sm_status=$?`),
    'set +a',
    '__sm_t1=$(date +%s)',
    'printf "%s\\0" "now=$__sm_t0 $__sm_t1" "status=$__sm_status"',
    'mapfile -t __sm_after < <(compgen -v)',
    'for __sm_n in "${__sm_after[@]}"; do',
    '  [[ $__sm_n == __sm_* || -n ${__sm_seen[$__sm_n]} ]] && continue',
    '  [[ -v $__sm_n ]] && printf "var:%s=%s\\0" "$__sm_n" "${!__sm_n}"',
    'done',
  ].join('\n');
  const run = spawnSync(BASH, [...BASH_FLAGS, '-c', script], { cwd: WORK, env: {}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error) throw run.error;
  const values: Record<string, string> = {};
  let status = '';
  let now: [number, number] = [0, 0];
  for (const record of run.stdout.split('\0').filter(Boolean)) {
    if (record.startsWith('now=')) now = record.slice(4).split(' ').map(Number) as [number, number];
    else if (record.startsWith('status=')) status = record.slice(7);
    else if (record.startsWith('var:')) {
      const eq = record.indexOf('=');
      values[record.slice(4, eq)] = record.slice(eq + 1);
    }
  }
  const complaint = [run.stderr.trim(), status !== '0' ? `status ${status}` : ''].filter(Boolean).join('; ');
  return { values, complaint, now };
}

/** smartmeter's values for the same files, each one layer, with `now` as `$(date +%s)`. */
function resolveInSmartmeter(files: { text: string; name: string }[], now: number): Record<string, string> {
  const store = new PropertyStore(now);
  for (const { text, name } of files) store.add(parsePropertiesFile(text, name));
  return Object.fromEntries(store.keys().map((key) => [key, store.resolve(key)!.value]));
}

type Outcome = { values: Record<string, string> } | { error: unknown };

/** Both sides for one properties text; bash is asked again if a second went by while it ran. */
function compare(text: string, name = 'case.properties'): { bash: BashResult; ours: Outcome } {
  writeFileSync(join(WORK, name), text);
  for (let attempt = 0; ; attempt += 1) {
    const bash = sourceInBash([name]);
    if (bash.now[0] !== bash.now[1] && attempt < 3) continue;
    try {
      return { bash, ours: { values: resolveInSmartmeter([{ text, name }], bash.now[0]) } };
    } catch (error) {
      return { bash, ours: { error } };
    }
  }
}

interface Case {
  name: string;
  text: string;
  /** Absent: smartmeter gives exactly bash's values. Present: smartmeter refuses, saying this. */
  refused?: RegExp;
}

const SAME_AS_BASH: Case[] = [
  { name: 'unquoted', text: 'A=plain\nB=a=b\nC=local[*]\nD={a,b}\nE=*\nF=a#b\nG=#x\nH=a~b\nI=}{!' },
  { name: 'empty values', text: 'A=\nB= # comment\nC=""\nD=\'\'' },
  { name: 'indented lines, comments and blank lines', text: '# comment\n\n  A=1\n\tB=2\n   # indented comment\n' },
  { name: 'single quotes keep everything', text: "A='single $NOT \"x\" \\n ${U:-d} `id` $(date)'\nB='#'\nC='~'" },
  { name: 'double quotes', text: 'A="double quoted"\nB="with $U and ${U} inside"\nC="# not a comment"\nD="~"' },
  { name: 'backslash escapes outside quotes', text: 'A=a\\ b\\$c\\\\d\\"e\\\'f\\xg\\~\nB=\\;\\|\\&\\(\\)\\<\\>\nC=x\\ #c' },
  { name: 'backslash escapes inside double quotes', text: 'A="a\\"b\\\\c\\$d\\`e\\xf\\n\\}"' },
  { name: '$NAME', text: 'A=1\nB=$A.x\nC=$A_x\nD=x$A\nE="$A"' },
  { name: '${NAME}', text: 'A=1\nB=${A}_x\nC="${A}"' },
  { name: 'a lone $ is literal', text: 'A=a$\nB=$/x\nC="$"\nD=${U:-$}\nE="cost: $ 5"\nF="$\'x\'"' },
  { name: '${NAME:-default} and ${NAME-default}, unset', text: 'A=${U:-dflt}\nB=${U-dflt}\nC=${U:-}\nD="${U:-in quotes}"' },
  {
    name: '${NAME:-default} and ${NAME-default}, set but empty',
    text: 'E=\nA=${E:-dflt}\nB=${E-dflt}\nC="${E:-q}"\nD="${E-q}"',
  },
  { name: '${NAME:-default} and ${NAME-default}, set', text: 'S=s\nA=${S:-d}\nB=${S-d}' },
  { name: 'nested defaults', text: 'X=x\nA=${U:-${V:-deep}}\nB=${U:-${X:-deep}/y}\nC="${U:-${V:-q}}"' },
  { name: 'defaults with spaces and shell characters', text: 'A=${U:-a b}\nB=${U:-a  #b}\nC=${U:-a;b|c&d>e<f(g)}\nD=${U:-#x}' },
  { name: 'defaults with quotes', text: 'A=${U:-\'x}y\'}\nB=${U:-\'$V\'}\nC=${U:-"a\\xb"}\nD=${U:-"\\}"}\nE=${U:-"~"}' },
  { name: 'defaults with backslashes', text: 'A=${U:-\\"}\nB=${U:-\\\'}\nC=${U:-\\$x}\nD=${U:-a\\\\b}\nE=${U:-a\\xb}\nF=${U:-a\\ b}' },
  { name: 'defaults with escapes inside double quotes', text: 'A="${U:-a\\"b}"\nB="${U:-a\\xb}"\nC="${U:-a\\$b}"\nD="${U:-a\\\\b}"\nE="${U:-\\}}"' },
  { name: 'a brace in a default is not counted', text: 'A=${U-{x}y}\nB="${U-{x}y}"\nC=${U:-a}b}' },
  { name: 'issue 16: ${U:-a\\}b}', text: 'A=${U:-a\\}b}\nB="${U:-a\\}b}"\nC="${U:-${V:-x\\}y}}"' },
  { name: 'issue 16: ${U:-"x}y"}', text: 'A=${U:-"x}y"}\nB=${U:-"${V:-q}"}' },
  { name: 'comments after values', text: 'A=x # comment\nB="x" # c\nC=\'x\'\t# tab comment\nD=x#not-a-comment' },
  { name: 'export K=v', text: 'export A=1\nexport    B="two"' },
  { name: 'issue 16: export<TAB>K=v', text: 'export\tK=v\nexport \t L=w' },
  { name: 'issue 16: a bare export K is a no-op', text: 'export K\nL=1\nexport L # comment\nexport M N\nN=2' },
  { name: 'adjacent quoted parts', text: 'A=\'a\'"b"c\nB=x\'$y\'"$U"z\nC=""\'\'d' },
  { name: 'references to earlier keys', text: 'HOST=nats\nPORT=4222\nURL=nats://${HOST}:$PORT\nAPI="http://$HOST/x"' },
  { name: 'later redefinition', text: 'A=1\nA=2\nP=/bin\nP=${P}:/usr/bin\nP="$P:/sbin"' },
  { name: 'references to undefined names expand to nothing', text: 'A=x${MISSING}y\nB=$MISSING\nC="${MISSING}"' },
  { name: '$(date +%s)', text: 'T=$(date +%s)\nU2="t$(date +%s)"\nV2=${U:-$(date +%s)}' },
  { name: 'a tilde that bash leaves alone', text: "A=a~\nB=x=~\nC=':'~\nD=\"~/x\"\nE=\\~" },
];

const REFUSED: Case[] = [
  // bash itself fails on this one: the ' opens a quote inside ${…}.
  { name: "issue 16: ${U:-it's}", text: "A=${U:-it's}", refused: /A: unterminated single quote/ },
  { name: "issue 16: \"${U:-it's}\"", text: `A="\${U:-it's}"`, refused: /A: quotes inside "\$\{…\}" are not supported/ },
  { name: 'issue 16: a \\ line continuation', text: 'A=one\\\ntwo', refused: /A: line continuation with \\ is not supported/ },
  { name: 'a \\ line continuation inside double quotes', text: 'A="one\\\ntwo"', refused: /A: line continuation with \\ is not supported/ },
  { name: 'a \\ at the end of the file', text: 'A=x\\', refused: /A: line continuation with \\ is not supported/ },
  { name: 'a single-quoted value spanning lines', text: "A='one\ntwo'", refused: /A: unterminated single quote/ },
  { name: 'a default spanning lines', text: 'A=${U:-a\nb}', refused: /A: unterminated \$\{…\}/ },
  { name: 'quotes inside "${…}"', text: 'A="${U:-\'x\'}"', refused: /quotes inside "\$\{…\}" are not supported/ },
  { name: 'double quotes inside "${…}"', text: 'A="${U:-"x"}"', refused: /quotes inside "\$\{…\}" are not supported/ },
  { name: 'an unterminated ${…}', text: 'A=${U:-a', refused: /A: unterminated \$\{…\}/ },
  { name: 'an unterminated double quote', text: 'A="open', refused: /A: unterminated double quote/ },
  { name: 'an unquoted space', text: 'A=two words', refused: /A: unquoted space in the value; quote it/ },
  { name: 'two assignments on one line', text: 'A=1 B=2', refused: /A: unquoted space/ },
  { name: "$'…'", text: "A=$'a\\tb'", refused: /A: \$'…' quoting is not supported/ },
  { name: '$"…"', text: 'A=$"x"', refused: /A: \$"…" quoting is not supported/ },
  { name: '$$', text: 'A=$$', refused: /A: the special parameter \$\$ is not supported/ },
  { name: '$1', text: 'A=$1x', refused: /A: the special parameter \$1 is not supported/ },
  { name: '$_', text: 'A=$_', refused: /A: _ is a variable of bash itself/ },
  { name: '$-', text: 'A="$-"', refused: /A: the special parameter \$- is not supported/ },
  { name: '${1}', text: 'A=${1}', refused: /A: unsupported expansion/ },
  { name: '$RANDOM', text: 'A=$RANDOM', refused: /A: RANDOM is a variable of bash itself/ },
  { name: 'a default using $LINENO', text: 'A=${U:-$LINENO}', refused: /A: LINENO is a variable of bash itself/ },
  { name: 'defining UID', text: 'UID=5', refused: /UID is a variable of bash itself/ },
  { name: '$[…]', text: 'A=$[1+2]', refused: /A: arithmetic \$\[…\] is not supported/ },
  { name: '$((…))', text: 'A=$((1+2))', refused: /A: arithmetic \$\(\(…\)\) is not supported/ },
  { name: '$(…)', text: 'A=$(id)', refused: /A: command substitution \$\(…\) is not supported/ },
  { name: 'backquotes', text: 'A=`id`', refused: /A: command substitution with backquotes is not supported/ },
  { name: 'backquotes in a default', text: 'A=${U:-`id`}', refused: /A: command substitution with backquotes/ },
  { name: 'a tilde at the start', text: 'A=~', refused: /A: an unquoted ~ .* is expanded by bash/ },
  { name: 'a tilde path', text: 'A=~/x', refused: /A: an unquoted ~/ },
  { name: 'a tilde after a colon', text: 'A=x:~root:y', refused: /A: an unquoted ~/ },
  { name: 'a tilde after an expansion and a colon', text: 'A=${U}:~', refused: /A: an unquoted ~/ },
  { name: 'a tilde in a default', text: 'A=${U:-~}', refused: /A: an unquoted ~/ },
  { name: 'a semicolon', text: 'A=a;b', refused: /A: an unquoted ";" is an operator in bash, not text; quote it/ },
  { name: 'a pipe', text: 'A=a|b', refused: /A: an unquoted "\|"/ },
  { name: 'a redirection', text: 'A=a>b', refused: /A: an unquoted ">"/ },
  { name: 'an array', text: 'A=(x y)', refused: /A: an unquoted "\("/ },
  { name: '${NAME:=default}', text: 'A=${U:=x}', refused: /A: unsupported expansion \$\{U:=…\}/ },
  { name: '${NAME:+word}', text: 'A=${U:+x}', refused: /A: unsupported expansion \$\{U:\+…\}/ },
  { name: '${#NAME}', text: 'A=${#U}', refused: /A: unsupported expansion/ },
  { name: '${NAME/x/y}', text: 'A=${U/x/y}', refused: /A: unsupported expansion/ },
  { name: 'a key bash does not assign', text: 'a.b=1', refused: /"a\.b" is not a shell variable name/ },
  { name: 'a key with a dash', text: 'export A-B=1', refused: /"A-B" is not a shell variable name/ },
  { name: 'a space before =', text: 'A =1', refused: /"A " is not a shell variable name/ },
  { name: 'a bare word', text: 'A=1\nnot-an-assignment', refused: /expected KEY=value, found no "="/ },
  { name: 'export alone', text: 'export', refused: /expected KEY=value, found no "="/ },
  { name: 'a command after export', text: 'export K; rm -rf x', refused: /expected KEY=value, found no "="/ },
];

describe('.properties files against bash', () => {
  it('has a bash to ask', () => {
    expect(BASH, 'bash is the oracle of these tests').toMatch(/\/bash$/);
  });

  for (const c of [...SAME_AS_BASH, ...REFUSED]) {
    it(`${c.refused ? 'refuses' : 'matches bash on'} ${c.name}`, () => {
      const { bash, ours } = compare(c.text);
      // The rule for every case: bash's values exactly, or a UsageError naming file:line.
      if ('error' in ours) {
        expect(ours.error).toBeInstanceOf(UsageError);
        const message = (ours.error as Error).message;
        expect(message).toMatch(/^case\.properties:\d+: /);
        expect(c.refused, `refused (${message}), but bash gives ${JSON.stringify(bash.values)}`).toBeDefined();
        expect(message).toMatch(c.refused!);
      } else {
        expect(bash.complaint, `bash rejects this text, smartmeter gives ${JSON.stringify(ours.values)}`).toBe('');
        expect(ours.values, 'smartmeter differs from bash').toEqual(bash.values);
        expect(c.refused, `expected a refusal matching ${c.refused}, got bash's values`).toBeUndefined();
      }
    });
  }

  it('names the line of a refusal', () => {
    const { ours } = compare('A=1\n\n# x\nB=${U:-it\'s}\nC=2\n');
    expect('error' in ours ? (ours.error as Error).message : JSON.stringify(ours.values)).toMatch(/^case\.properties:4: B: unterminated single quote/);
  });

  it("refuses every variable bash sets itself that the environment does not give", () => {
    // PATH, PWD, SHLVL, SHELL, TERM (and HOME, OLDPWD) come from the environment in a real run
    // (smartmeter's environment layer); in `env -i` bash invents them. Every other name bash starts with
    // would read as empty in smartmeter and as something else in bash.
    const fromEnvironment = new Set(['PATH', 'PWD', 'OLDPWD', 'SHLVL', 'SHELL', 'TERM', 'HOME']);
    // FUNCNAME only exists inside a function: listed from one.
    const names = spawnSync(BASH, [...BASH_FLAGS, '-c', 'compgen -v; f() { compgen -v; }; f'], { env: {}, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .stdout.split('\n')
      .filter((name, index, all) => name && !fromEnvironment.has(name) && all.indexOf(name) === index);
    expect(names).toContain('FUNCNAME');
    expect(names).toContain('RANDOM');
    for (const name of names) {
      for (const text of [`A=$${name}`, `A=\${${name}}`, `A="\${U:-$${name}}"`, `${name}=x`]) {
        expect(() => parsePropertiesFile(text, 'case.properties'), text).toThrow(
          new RegExp(`^case\\.properties:1: (A: )?${name} is a variable of bash itself`),
        );
      }
    }
  });
});

/** The same rule as above for one text: bash's values, or a UsageError naming file:line. */
function followsTheRule(text: string): string | undefined {
  const { bash, ours } = compare(text);
  if ('error' in ours) {
    const message = ours.error instanceof UsageError ? ours.error.message : String(ours.error);
    return /^case\.properties:\d+: /.test(message) ? undefined : `not a UsageError naming file:line: ${message}`;
  }
  if (bash.complaint) return `bash rejects it (${bash.complaint}), smartmeter gives ${JSON.stringify(ours.values)}`;
  const sorted = (values: Record<string, string>) => JSON.stringify(Object.entries(values).sort());
  if (sorted(ours.values) !== sorted(bash.values)) return `smartmeter gives ${sorted(ours.values)}, bash ${sorted(bash.values)}`;
  return undefined;
}

describe('generated values against bash', () => {
  it('gives bash\'s value or refuses, for words built from quotes, escapes, braces and expansions', () => {
    // Small words from the pieces whose combinations the parser must get right. A fixed seed,
    // so a failure is the same on every run; `>` is left out (a named departure below).
    const pieces = ['a', ' ', "'", '"', '\\', '$', '$A', '$E', '${', '}', ':-', '-', '${U:-', '${E-', '${A:-', '~', ':', '#', ';', '$(date +%s)'];
    let seed = 16;
    const random = (n: number) => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const failures: string[] = [];
    for (let n = 0; n < 400; n += 1) {
      const word = Array.from({ length: 1 + random(6) }, () => pieces[random(pieces.length)]).join('');
      const text = `A=1\nE=\nV=${word}\n`;
      const failure = followsTheRule(text);
      if (failure) failures.push(`${JSON.stringify(word)}: ${failure}`);
    }
    expect(failures).toEqual([]);
  });
});

/** An assignment whose unquoted value ends in `>` (a NATS subject's wildcard). */
const TRAILING_GT = /^([ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*=[^'"\s\\]*)>$/gm;

describe('the deliberate departures from bash, named', () => {
  it("reads a trailing unquoted > as text, where bash rejects the line", () => {
    // NATS subjects end in the wildcard `>`, and the shipped files write them unquoted.
    const text = 'S=smartmeter.extract.>\nT=x> # comment';
    const bare = compare(text);
    expect(bare.bash.complaint).toMatch(/syntax error/);
    const quoted = compare(`S=smartmeter.extract.'>'\nT=x'>' # comment`);
    expect(quoted.bash.complaint).toBe('');
    expect(bare.ours).toEqual({ values: quoted.bash.values });
  });

  it('resolves a reference after every line and layer is read, where bash reads the value at that line', () => {
    // So that a -p file overriding NATS_NAME also changes NATS_URI; within one file this means
    // a reference sees a later definition too (README: "Shell features of property files").
    const forward = compare('URL=nats://${HOST}:4222\nHOST=nats');
    expect(forward.bash.values.URL).toBe('nats://:4222');
    expect('values' in forward.ours && forward.ours.values.URL).toBe('nats://nats:4222');
    const redefined = compare('A=1\nB=$A\nA=2');
    expect(redefined.bash.values.B).toBe('1');
    expect('values' in redefined.ours && redefined.ours.values.B).toBe('2');
  });

  it('reads CRLF line endings and a byte-order mark as bash reads the same file without them', () => {
    const text = 'A=1\nB="two"\nC=${U:-x}\n';
    const plain = compare(text);
    const crlf = compare(`\uFEFF${text.replace(/\n/g, '\r\n')}`, 'crlf.properties');
    expect(crlf.bash.values.B).toBe('two\r');
    expect(crlf.ours).toEqual(plain.ours);
    expect('values' in plain.ours && plain.ours.values).toEqual(plain.bash.values);
  });
});

describe('the shipped property files against bash', () => {
  const defaults = join(ROOT, 'templates', 'compose', 'properties');
  const read = (file: string) => ({ text: readFileSync(file, 'utf8'), name: file.slice(ROOT.length + 1) });
  // bash is given each file with a trailing unquoted `>` quoted: the one departure above.
  const forBash = (file: string, index: number) => {
    const copy = join(WORK, `layer-${index}.properties`);
    writeFileSync(copy, readFileSync(file, 'utf8').replace(TRAILING_GT, "$1'>'"));
    return copy;
  };

  for (const location of ['local', 'remote']) {
    for (const clusterMode of ['single', 'cluster']) {
      for (const overrideDir of [undefined, join(ROOT, 'alt_properties')]) {
        const modes = { location, clusterMode, secretMode: 'secrets' } as Parameters<typeof propertyLayerFiles>[2];
        const files = propertyLayerFiles(defaults, overrideDir, modes)
          .map(({ file }) => file)
          .filter((file) => existsSync(file));
        it(`gives bash's values for ${location} ${clusterMode}${overrideDir ? ' with -p alt_properties' : ''}`, () => {
          const copies = files.map(forBash);
          for (let attempt = 0; ; attempt += 1) {
            const bash = sourceInBash(copies);
            if (bash.now[0] !== bash.now[1] && attempt < 3) continue;
            expect(bash.complaint).toBe('');
            expect(Object.keys(bash.values).length).toBeGreaterThan(50);
            expect(resolveInSmartmeter(files.map(read), bash.now[0])).toEqual(bash.values);
            break;
          }
        });
      }
    }
  }
});
