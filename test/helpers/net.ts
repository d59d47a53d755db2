import { createServer, connect } from 'node:net';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/**
 * Opens a NATS client connection with the raw protocol (INFO, CONNECT, PING) and returns
 * the server's answer to PING: "PONG" when the credentials are accepted, "-ERR …" otherwise.
 */
export async function natsHandshake(port: number, user: string, pass: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let sent = false;
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer from NATS')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!sent && buffer.includes('\r\n') && buffer.startsWith('INFO ')) {
        sent = true;
        buffer = buffer.slice(buffer.indexOf('\r\n') + 2);
        socket.write(`CONNECT ${JSON.stringify({ user, pass, verbose: false, pedantic: false })}\r\nPING\r\n`);
      }
      const answer = buffer.split('\r\n').find((line) => line === 'PONG' || line.startsWith('-ERR'));
      if (answer) {
        socket.end();
        resolve(answer);
      }
    });
    socket.on('error', reject);
  });
}
