import { describe, expect, it } from 'vitest';
import { renderText, renderTexts, scanPlaceholders, tokenize } from '../src/combine/placeholders.js';

const values: Record<string, string> = {
  NATS_NAME: 'nats',
  PORT: '4222',
  'docker-nats-repository': 'nats',
  'docker-nats-tag': '2.10',
  'docker-additional-tag': '',
  PASSWORD: 'pa$$word',
  EMPTY: '',
};
const lookup = (key: string) => values[key];

describe('renderText', () => {
  it('fills ${VAR}, $VAR and ((key))', () => {
    expect(renderText('nats://${NATS_NAME}:$PORT', lookup).text).toBe('nats://nats:4222');
    expect(renderText('((docker-nats-repository)):(( docker-nats-tag ))((docker-additional-tag))', lookup).text).toBe('nats:2.10');
  });

  it('applies ${VAR:-default} and ${VAR-default} like Compose', () => {
    expect(renderText('${UNSET:-d}|${EMPTY:-d}|${EMPTY-d}|${UNSET-d}', lookup).text).toBe('d|d||d');
  });

  it('passes Go templates and literal braces through untouched', () => {
    const text = 'TASK_SLOT={{.Task.Slot}} ${NATS_NAME} {{ index .Labels "x" }} \\{{raw}} }}';
    expect(renderText(text, lookup).text).toBe('TASK_SLOT={{.Task.Slot}} nats {{ index .Labels "x" }} \\{{raw}} }}');
  });

  it('keeps Compose escapes ($$) and escapes $ inside values', () => {
    expect(renderText('sh -c "echo $$HOME $${X}" ${NATS_NAME}', lookup).text).toBe('sh -c "echo $$HOME $${X}" nats');
    expect(renderText('PASS=${PASSWORD}', lookup).text).toBe('PASS=pa$$$$word');
  });

  it('reports missing placeholders and leaves them as written', () => {
    const result = renderText('a ${NOPE} b ((no-key)) c ${NATS_NAME}', lookup);
    expect(result.text).toBe('a ${NOPE} b ((no-key)) c nats');
    expect(result.missing.map((p) => p.raw)).toEqual(['${NOPE}', '((no-key))']);
    expect(result.used).toEqual(['NATS_NAME']);
  });

  it('renders a batch of texts and keeps texts without placeholders as they are', () => {
    const { texts } = renderTexts(['plain {{x}}', '${PORT}', 'x\\', '${NATS_NAME}\\'], lookup);
    expect(texts).toEqual(['plain {{x}}', '4222', 'x\\', 'nats\\']);
  });
});

describe('tokenize and scan', () => {
  it('finds every placeholder with its line', () => {
    const found = scanPlaceholders('a: ${A}\nb: $$B\nc: ((c)) $D\n');
    expect(found.map((p) => [p.key, p.line])).toEqual([
      ['A', 1],
      ['c', 3],
      ['D', 3],
    ]);
  });

  it('treats a lone $ as text', () => {
    expect(tokenize('cost: 5$ ok')).toEqual([{ type: 'text', text: 'cost: 5$ ok' }]);
  });
});

describe('edge cases of the syntax', () => {
  it('keeps braces and backslashes next to placeholders', () => {
    expect(renderText('{${PORT}}', lookup).text).toBe('{4222}');
    expect(renderText('${PORT}}}', lookup).text).toBe('4222}}');
    expect(renderText('{{${PORT}', lookup).text).toBe('{{4222');
    expect(renderText('a\\\\${PORT} b\\${PORT}', lookup).text).toBe('a\\\\4222 b\\4222');
    expect(renderText('{{{raw}}} {${NATS_NAME}} \\{{x}}', lookup).text).toBe('{{{raw}}} {nats} \\{{x}}');
  });

  it('reads $$((…)) as shell arithmetic, not as a ((key))', () => {
    const result = renderText('echo $$((1+2)) ((docker-nats-tag))', lookup);
    expect(result.text).toBe('echo $$((1+2)) 2.10');
    expect(result.missing).toEqual([]);
  });

  it("implements Compose's required and alternative forms, and nested defaults", () => {
    expect(renderText('${NATS_NAME:+set}|${EMPTY:+set}|${EMPTY+set}|${UNSET+set}', lookup).text).toBe('set||set|');
    expect(renderText('${UNSET:-${NATS_NAME}:${PORT}}', lookup).text).toBe('nats:4222');
    const required = renderText('${UNSET:?give me a value} ${EMPTY?fine when empty}', lookup);
    expect(required.missing.map((p) => [p.raw, p.argument])).toEqual([['${UNSET:?give me a value}', 'give me a value']]);
  });

  it('reports a malformed ${…} instead of leaving it silently', () => {
    const result = renderText('${} ${X } ${X/a/b} ${UNCLOSED', lookup);
    expect(result.missing.map((p) => p.invalid)).toEqual([
      'not a variable name',
      expect.stringMatching(/^unsupported form/),
      expect.stringMatching(/^unsupported form/),
      'no closing }',
    ]);
  });

  it('renders the same text again with other values (the tokens are kept, never the values)', () => {
    const text = 'image: ((docker-nats-repository)):${PORT:-none} $$HOME';
    expect(renderText(text, lookup).text).toBe('image: nats:4222 $$HOME');
    const other = renderText(text, (key) => ({ 'docker-nats-repository': 'mirror/nats' })[key]);
    expect(other.text).toBe('image: mirror/nats:none $$HOME');
    expect(other.used).toEqual(['docker-nats-repository']);
  });
});
