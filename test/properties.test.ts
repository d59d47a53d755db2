import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  PropertyStore,
  literalDefinition,
  parsePropertiesFile,
  parseSetArguments,
  parseYamlDictionary,
} from '../src/combine/properties.js';

function store(...files: [string, string][]): PropertyStore {
  const s = new PropertyStore(1_700_000_000);
  for (const [name, text] of files) s.add(parsePropertiesFile(text, name));
  return s;
}

describe('parsePropertiesFile', () => {
  it('reads plain, quoted and exported assignments, skipping comments and blank lines', () => {
    const s = store([
      'a.properties',
      '# comment\n\nA=plain\nexport B="double quoted"\nC=\'single $NOT\'\n  D=x # trailing comment\nE=\n',
    ]);
    expect(s.resolve('A')?.value).toBe('plain');
    expect(s.resolve('B')?.value).toBe('double quoted');
    expect(s.resolve('C')?.value).toBe('single $NOT');
    expect(s.resolve('D')?.value).toBe('x');
    expect(s.resolve('E')?.value).toBe('');
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    const s = store(['crlf.properties', '\uFEFFA=1\r\nB="two"\r\n']);
    expect(s.resolve('A')?.value).toBe('1');
    expect(s.resolve('B')?.value).toBe('two');
  });

  it('keeps escaped quotes as the shell would', () => {
    expect(store(['q.properties', 'V=\\"3.3\\"']).resolve('V')?.value).toBe('"3.3"');
  });

  it('names file and line of a malformed line', () => {
    expect(() => parsePropertiesFile('A=1\nthis is not an assignment\n', 'dir/x.properties')).toThrow(
      /^dir\/x\.properties:2: expected KEY=value/,
    );
    expect(() => parsePropertiesFile('A="open\n', 'x.properties')).toThrow(/x\.properties:1: A: unterminated double quote/);
    expect(() => parsePropertiesFile('A=two words\n', 'x.properties')).toThrow(/x\.properties:1: A: unquoted space/);
    expect(() => parsePropertiesFile('A=$(rm -rf /)\n', 'x.properties')).toThrow(/command substitution/);
    expect(() => parsePropertiesFile('A=1\nB=`id`\n', 'x.properties')).toThrow(UsageError);
  });

  it('reads a default as bash does, skips a bare export, and refuses a continued line (test/properties-bash.test.ts asks bash)', () => {
    expect(parsePropertiesFile('A=${U:-"x}y"}\nexport\tB=${U-a\\}b}\nexport B', 'p.properties').map((d) => [d.key, d.parts])).toEqual([
      ['A', [{ type: 'ref', name: 'U', fallback: [{ type: 'text', text: 'x}y' }], fallbackWhenEmpty: true }]],
      ['B', [{ type: 'ref', name: 'U', fallback: [{ type: 'text', text: 'a}b' }], fallbackWhenEmpty: false }]],
    ]);
    expect(() => parsePropertiesFile('A=1\nB=one\\\ntwo\n', 'p.properties')).toThrow(/^p\.properties:2: B: line continuation with \\ is not supported/);
  });

  it('takes $(date +%s) as the time given to the store, and runs no command', () => {
    expect(store(['t.properties', 'TIME_ROOT=$(date +%s)']).resolve('TIME_ROOT')?.value).toBe('1700000000');
  });
});

describe('layering and references', () => {
  it('lets a later layer override an earlier one and records what it replaced', () => {
    const s = store(['defaults.properties', 'A=1\nB=b'], ['override.properties', 'A=2']);
    const a = s.resolve('A')!;
    expect(a.value).toBe('2');
    expect(a.source).toEqual({ kind: 'file', file: 'override.properties', line: 1 });
    expect(a.overridden).toEqual([{ kind: 'file', file: 'defaults.properties', line: 1 }]);
    expect(s.resolve('B')?.value).toBe('b');
  });

  it('resolves references after all layers, so an override propagates', () => {
    const s = store(['d.properties', 'NATS_NAME=nats\nNATS_URI=nats://${NATS_NAME}:4222'], ['p.properties', 'NATS_NAME=bus']);
    expect(s.resolve('NATS_URI')?.value).toBe('nats://bus:4222');
  });

  it('reads the previous layer for a self-reference, and applies defaults', () => {
    const s = store(['d.properties', 'P=/bin\nX=${UNSET:-fallback}\nY=${EMPTY:-e}\nZ=${EMPTY-kept}\nEMPTY='], ['p.properties', 'P=${P}:/usr/bin']);
    expect(s.resolve('P')?.value).toBe('/bin:/usr/bin');
    expect(s.resolve('X')?.value).toBe('fallback');
    expect(s.resolve('Y')?.value).toBe('e');
    expect(s.resolve('Z')?.value).toBe('');
  });

  it('reports references to undefined names instead of hiding them', () => {
    const resolved = store(['d.properties', 'A=x${MISSING}y']).resolve('A')!;
    expect(resolved.value).toBe('xy');
    expect(resolved.undefinedRefs).toEqual(['MISSING']);
  });

  it('names a reference loop', () => {
    const s = store(['d.properties', 'A=${B}\nB=${A}']);
    expect(() => s.resolve('A')).toThrow(/loop: A → B → A/);
  });

  it('puts environment and --set above files, literally', () => {
    const s = store(['d.properties', 'A=file\nB=file']);
    s.add([literalDefinition('A', 'env ${NOT_EXPANDED}', { kind: 'env' })]);
    s.add(parseSetArguments(['B=set=with=equals']));
    expect(s.resolve('A')?.value).toBe('env ${NOT_EXPANDED}');
    expect(s.resolve('B')?.value).toBe('set=with=equals');
    expect(() => parseSetArguments(['novalue'])).toThrow(/--set expects KEY=value/);
  });
});

describe('parseYamlDictionary', () => {
  it('reads a flat map with line numbers, values as written', () => {
    const defs = parseYamlDictionary('# images\ndocker-nats-tag: 2.10\nempty: ""\n', 'properties.yml');
    expect(defs.map((d) => [d.key, d.parts, d.source])).toEqual([
      ['docker-nats-tag', [{ type: 'text', text: '2.10' }], { kind: 'file', file: 'properties.yml', line: 2 }],
      ['empty', [{ type: 'text', text: '' }], { kind: 'file', file: 'properties.yml', line: 3 }],
    ]);
  });

  it('rejects nested values and invalid YAML with file and line', () => {
    expect(() => parseYamlDictionary('a:\n  b: 1\n', 'p.yml')).toThrow(/p\.yml:1: value of a must be a single value/);
    expect(() => parseYamlDictionary('a: [1\nb: 2\n', 'p.yml')).toThrow(/^p\.yml:\d+: invalid YAML/);
  });
});
