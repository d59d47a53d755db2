import { RuntimeError } from '../errors.js';
import type { StackRecord } from '../runtime/stack-files.js';
import type { UpOptions } from './up.js';
export async function runHelmUp(_options: UpOptions): Promise<void> { throw new RuntimeError('helm: work in progress'); }
export async function runHelmStatus(_record: StackRecord, _json: boolean): Promise<void> { throw new RuntimeError('helm: work in progress'); }
export async function runHelmDown(_record: StackRecord, _volumes: boolean): Promise<void> { throw new RuntimeError('helm: work in progress'); }
