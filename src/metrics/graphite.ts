/**
 * Sends live metrics to Graphite (carbon plaintext, `path value epoch\n` over TCP), as the old
 * injector's Gatling did for the stack's dashboards. A Graphite that is down never slows the
 * work: lines are dropped while the socket is not connected, and it is retried every 5 s.
 */
import { Socket } from 'node:net';
import { UsageError } from '../errors.js';
import { graphiteLines, type MetricSample } from './samples.js';

export class GraphiteReporter {
  private socket: Socket | undefined;
  private connected = false;
  private warned = false;
  private retryAt = 0;
  private readonly host: string;
  private readonly port: number;
  private readonly prefix: string;
  private readonly log: (line: string) => void;

  constructor(address: string, prefix: string, log: (line: string) => void) {
    const { host, port } = parseHostPort(address);
    this.host = host;
    this.port = port;
    this.prefix = prefix.replace(/\.+$/, '');
    this.log = log;
  }

  /** One line per sample, stamped with the wall-clock second. */
  send(samples: readonly MetricSample[], nowMs = Date.now()): void {
    this.ensureConnected(nowMs);
    if (!this.connected || !this.socket) return;
    this.socket.write(graphiteLines(this.prefix, samples, Math.floor(nowMs / 1000)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket || !this.connected) {
        this.socket?.destroy();
        resolve();
        return;
      }
      this.socket.end(() => resolve());
    });
  }

  private ensureConnected(nowMs: number): void {
    if (this.socket || nowMs < this.retryAt) return;
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      this.warned = false;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.warned) this.log(`graphite ${this.host}:${this.port}: ${error.code ?? error.message}; metrics are dropped until it answers`);
      this.warned = true;
    });
    socket.on('close', () => {
      this.connected = false;
      this.socket = undefined;
      this.retryAt = Date.now() + 5000;
    });
    socket.connect(this.port, this.host);
  }
}

/** `graphite:2003`, `127.0.0.1` (port 2003), `[::1]:2003`. */
export function parseHostPort(address: string, defaultPort = 2003): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(address.trim());
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`--graphite: expected host[:port], got "${address}"`);
  return { host: (match[1] ?? match[2])!, port };
}
