// The rig stops only what it started: a pid counts as the rig's only while it still runs the
// exact command line the rig recorded.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRunning, startDaemon, stopProcess, tailLog, waitUntil } from '../rig/src/process.ts';

describe('rig processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-rig-process-'));

  it('starts a daemon with its output in a log, recognises it by its command line, stops it by pid', async () => {
    const record = startDaemon({ name: 'sleeper', executable: 'sh', args: ['-c', 'echo started; exec sleep 30'], log: join(dir, 'sleeper.log') });
    await waitUntil(() => (readFileSync(record.log, 'utf8').includes('started') ? true : undefined), { timeoutMs: 5000, what: 'the sleeper' });
    // `exec sleep` replaced the shell: the pid now runs another command line, so it is not ours any more.
    await waitUntil(() => (isRunning(record) ? undefined : true), { timeoutMs: 5000, what: 'exec to replace the shell' });
    expect(isRunning({ ...record, executable: 'sleep', args: ['30'] })).toBe(true);
    expect(isRunning({ ...record, executable: 'sleep', args: ['31'] })).toBe(false);
    expect(isRunning({ ...record, executable: 'cat', args: ['30'] })).toBe(false);
    await stopProcess({ ...record, executable: 'sleep', args: ['30'] }, 5000);
    expect(isRunning({ ...record, executable: 'sleep', args: ['30'] })).toBe(false);
    expect(tailLog(record.log)).toBe('started');
  });

  it('leaves a process alone whose command line differs from the record', async () => {
    const record = startDaemon({ name: 'other', executable: 'sleep', args: ['30'], log: join(dir, 'other.log') });
    const stranger = { ...record, args: ['-c', 'something else'] };
    await stopProcess(stranger, 1000);
    expect(isRunning(record)).toBe(true);
    await stopProcess(record, 5000);
    expect(isRunning(record)).toBe(false);
  });

  it('says why a service did not get ready, with the last lines of its log', async () => {
    const record = startDaemon({ name: 'quitter', executable: 'sh', args: ['-c', 'echo "fatal: port in use"; exit 3'], log: join(dir, 'quitter.log') });
    await expect(
      waitUntil(() => undefined, { timeoutMs: 5000, what: 'quitter on 127.0.0.1:1', alive: () => isRunning(record), log: record.log }),
    ).rejects.toThrow(/^quitter on 127\.0\.0\.1:1: the process exited\n--- last lines of .*quitter\.log ---\nfatal: port in use$/);
  });
});
