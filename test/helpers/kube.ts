import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import type { CliResult } from './cli.js';

/** The rig's kubectl (`rigService('kubernetes')`'s values) against its cluster; `input` on stdin. */
export function rigKubectl(kube: Record<string, string>, args: string[], input?: string): CliResult {
  const r = spawnSync(kube.KUBECTL!, args, { encoding: 'utf8', input, env: { ...process.env, KUBECONFIG: kube.KUBECONFIG! } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** rigKubectl's stdout, the test failing (with kubectl's stderr) when it exits non-zero. */
export function rigKubectlOk(kube: Record<string, string>, args: string[], input?: string): string {
  const r = rigKubectl(kube, args, input);
  expect(r.status, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}
