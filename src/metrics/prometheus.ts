/**
 * A Prometheus endpoint: GET /metrics answers the text format from the current samples.
 * Listens on 127.0.0.1 unless another host is given (a container publishes it with 0.0.0.0).
 */
// node:http is imported when a server starts: as an ES module its namespace pulls in undici,
// http2 and zlib (about 20 ms), which every other command would pay at start-up.
import type { Server } from 'node:http';
import { RuntimeError, UsageError } from '../errors.js';

/**
 * GET /metrics: the text format of `render()`. With `ready`, GET /ready answers 200 while it
 * returns true and 503 otherwise (a Kubernetes readiness probe).
 */
export async function serveMetrics(address: { host: string; port: number }, render: () => string, ready?: () => boolean): Promise<{ close: () => Promise<void>; port: number }> {
  const { createServer } = await import('node:http');
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/ready' && ready) {
      const ok = ready();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not reading yet\n');
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`smartmeter serves /metrics${ready ? ' and /ready' : ''}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new RuntimeError(`cannot serve metrics on ${address.host}:${address.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`)));
    server.listen(address.port, address.host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `9464`, `0.0.0.0:9464`, `[::1]:9464`. */
export function parseListenAddress(text: string, what: string): { host: string; port: number } {
  const match = /^(?:(?:\[([^\]]+)\]|([^:]+)):)?(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port < 0 || port > 65535) throw new UsageError(`${what}: expected [host:]port, got "${text}"`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}
