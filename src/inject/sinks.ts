/**
 * Where generated messages go, with honest counts. Core NATS has no acknowledgements, so a
 * message counts as confirmed only once a PING sent after it has its PONG; what was published
 * but never confirmed when the connection dropped is counted lost (an upper bound: some of it
 * may have arrived). JetStream publishes are acknowledged one by one and retried (same message
 * id, so the server drops duplicates) until acknowledged or the drain deadline passes.
 */
import type { JetStreamClient, NatsConnection, PubAck } from 'nats';
import { protocolWriter } from '../nats/connection.js';
import { payloadBytes, type MessageGenerator } from './generator.js';

/**
 * disconnected: handed to the client, unconfirmed when the connection dropped; unconfirmed: still
 * unconfirmed at the drain deadline; refused: the server answered a publish with a permissions
 * error; not-reconnected: kept for after a reconnection that did not come before the deadline;
 * no-ack: a JetStream publish still unacknowledged at the deadline.
 */
export type LossReason = 'disconnected' | 'unconfirmed' | 'refused' | 'not-reconnected' | 'no-ack';

export interface SinkCounts {
  published: number;
  /** Core: confirmed by a PING/PONG round trip. JetStream: acknowledged by the stream. */
  confirmed: number;
  lost: Record<LossReason, number>;
  /** JetStream: publishes tried again after a failure. */
  retried: number;
  /** JetStream: acknowledgements the server marked as duplicates of an earlier try. */
  duplicates: number;
  errors: Record<string, number>;
  reconnects: number;
}

export interface Sink {
  readonly counts: SinkCounts;
  /** False while the window of unconfirmed messages is full: the scheduler waits (and falls behind). */
  canSend(): boolean;
  /** Takes the generator's next message, stamped `epoch`, and sends it; returns its subject index. */
  send(generator: MessageGenerator, epoch: number, plannedMs: number, seq: number): number;
  /** Called once per scheduler tick (core mode sends its PING here). */
  tick(): void;
  /** Resolves when a slot frees up (used flat-out, instead of a timer), or at release(). */
  waitForRoom(): Promise<void>;
  /** Resolves every waitForRoom (the run is stopping). */
  release(): void;
  /** Waits until everything sent is confirmed or counted lost, at most until `deadline` (performance.now()). */
  drain(deadline: number): Promise<void>;
  /** Current number of unconfirmed messages or publishes in flight. */
  inFlight(): number;
  /** The client's status events ('disconnect', 'reconnect', 'error', …) and their data. */
  onStatus(type: string, data?: unknown): void;
}

function emptyCounts(): SinkCounts {
  return { published: 0, confirmed: 0, lost: { disconnected: 0, unconfirmed: 0, refused: 0, 'not-reconnected': 0, 'no-ack': 0 }, retried: 0, duplicates: 0, errors: {}, reconnects: 0 };
}

export function totalLost(counts: SinkCounts): number {
  let n = 0;
  for (const reason in counts.lost) n += counts.lost[reason as LossReason];
  return n;
}

/** Callers waiting for room in a sink's window. */
class RoomWaiters {
  private readonly waiting: (() => void)[] = [];

  wait(canSend: () => boolean): Promise<void> {
    if (canSend()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  wake(canSend: () => boolean): void {
    while (this.waiting.length && canSend()) this.waiting.shift()!();
  }

  releaseAll(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** What a message kept for after a reconnection costs in memory, beyond its payload and subject. */
const PENDING_ENTRY_BYTES = 200;

export interface CoreSinkOptions {
  /** Memory for messages kept while disconnected and sent after the reconnection; when it is full, sends wait. */
  reconnectBufferBytes: number;
  /** Write whole PUB frames of this generator's subjects through the client's protocol handler (see PubFrames); absent: nc.publish. */
  generator?: MessageGenerator;
  /** PINGs awaiting their PONG before the scheduler holds back. */
  maxUnconfirmedPings: number;
  /** Messages between two PINGs, at most (flat-out). */
  pingEvery: number;
}

export class CoreSink implements Sink {
  readonly counts = emptyCounts();
  private connected = true;
  private readonly pending: { subject: string; payload: Uint8Array }[] = [];
  private pendingBytes = 0;
  private pings = 0;
  private sinceLastPing = 0;
  private readonly waiters = new RoomWaiters();
  private readonly nc: NatsConnection;
  private readonly options: CoreSinkOptions;
  /** Bumped at each disconnection: PONGs of an earlier connection confirm nothing. */
  private connection = 0;
  /** Published messages already confirmed or counted lost. */
  private accounted = 0;
  /** Publishes the server refused (counted lost) that a PONG has not yet passed. */
  private refusedUnaccounted = 0;
  private readonly frames: PubFrames | undefined;

  constructor(nc: NatsConnection, options: CoreSinkOptions) {
    this.nc = nc;
    this.options = options;
    const writer = options.generator ? protocolWriter(nc) : undefined;
    this.frames = writer && options.generator ? new PubFrames(writer, (n) => (this.counts.published += n), options.generator) : undefined;
  }

  /** Follows the connection's status (disconnect / reconnect / permission errors). */
  onStatus(type: string, data?: unknown): void {
    if (type === 'error' && data === 'PERMISSIONS_VIOLATION') {
      // A publish the server refused; it is counted lost, not confirmed by the next PONG.
      this.counts.lost.refused += 1;
      this.refusedUnaccounted += 1;
      this.counts.errors.permissions = (this.counts.errors.permissions ?? 0) + 1;
    } else if (type === 'disconnect' && this.connected) {
      this.connected = false;
      this.connection += 1;
      // Whatever was handed to the client and not confirmed may be gone with the socket.
      this.countUnconfirmedLost('disconnected');
      this.pings = 0;
      this.wake();
    } else if (type === 'reconnect' && !this.connected) {
      this.connected = true;
      this.counts.reconnects += 1;
      this.handFrames(); // framed before the disconnection was noticed: older than the backlog
      const backlog = this.pending.splice(0);
      this.pendingBytes = 0;
      for (const m of backlog) this.publish(m.subject, m.payload);
      this.ping();
      this.wake();
    }
  }

  /** Connected: room in the PING window. Disconnected: room in the reconnect buffer (flat-out waits there). */
  canSend(): boolean {
    return this.connected ? this.pings < this.options.maxUnconfirmedPings : this.pendingBytes < this.options.reconnectBufferBytes;
  }

  send(generator: MessageGenerator, epoch: number): number {
    const index = generator.nextSubjectIndex;
    if (!this.connected) {
      generator.next(epoch);
      this.pending.push({ subject: generator.subject, payload: generator.payload });
      this.pendingBytes += generator.payload.length + generator.subject.length + PENDING_ENTRY_BYTES;
      return index;
    }
    if (this.frames) {
      this.frames.append(generator, epoch);
    } else {
      generator.next(epoch);
      this.publish(generator.subject, generator.payload);
    }
    if (++this.sinceLastPing >= this.options.pingEvery) this.ping();
    return index;
  }

  tick(): void {
    this.handFrames();
    if (this.sinceLastPing > 0) this.ping();
  }

  waitForRoom(): Promise<void> {
    return this.waiters.wait(() => this.canSend());
  }

  release(): void {
    this.waiters.releaseAll();
  }

  inFlight(): number {
    return this.counts.published - this.accounted + this.pending.length + (this.frames?.count ?? 0);
  }

  async drain(deadline: number): Promise<void> {
    while (performance.now() < deadline) {
      if (this.connected) {
        this.ping();
        await this.settled(deadline);
        if (this.connected && this.inFlight() === 0) return;
      } else {
        await sleep(50);
      }
    }
    // Still disconnected or unconfirmed at the deadline.
    this.counts.lost['not-reconnected'] += this.pending.length + (this.frames?.discard() ?? 0);
    this.pending.length = 0;
    this.countUnconfirmedLost(this.connected ? 'unconfirmed' : 'disconnected');
  }

  /** Counts what was published and never confirmed as lost for `reason` (refused ones are counted already). */
  private countUnconfirmedLost(reason: LossReason): void {
    this.counts.lost[reason] += this.takeAccounted(this.counts.published);
  }

  /** Moves the accounted mark to `mark`; returns how many messages that covers, less the refused ones. */
  private takeAccounted(mark: number): number {
    const n = mark - this.accounted;
    if (n <= 0) return 0;
    this.accounted = mark;
    const refused = Math.min(n, this.refusedUnaccounted);
    this.refusedUnaccounted -= refused;
    return n - refused;
  }

  private publish(subject: string, payload: Uint8Array): void {
    try {
      this.nc.publish(subject, payload);
      this.counts.published += 1;
    } catch (error) {
      // The client refuses publishes once closed; count them as lost rather than throw mid-run.
      const reason = (error as { code?: string }).code ?? 'publish';
      this.counts.errors[reason] = (this.counts.errors[reason] ?? 0) + 1;
      this.counts.lost.disconnected += 1;
    }
  }

  private handFrames(): void {
    if (this.connected) this.frames?.hand();
  }

  private ping(): void {
    this.handFrames(); // the PING must follow the messages it confirms
    this.sinceLastPing = 0;
    const mark = this.counts.published;
    const connection = this.connection;
    this.pings += 1;
    this.nc.flush().then(
      () => {
        if (connection !== this.connection) return;
        this.pings -= 1;
        this.counts.confirmed += this.takeAccounted(mark);
        this.wake();
      },
      () => undefined, // the disconnection itself is counted in onStatus
    );
  }

  private settled(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.inFlight() === 0 || !this.connected || performance.now() >= deadline) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
  }

  private wake(): void {
    this.waiters.wake(() => this.canSend());
  }
}

export interface JetStreamSinkOptions {
  /** Publishes awaiting their acknowledgement, at most. */
  window: number;
  /** Per-try acknowledgement timeout. */
  ackTimeoutMs: number;
  /** Prefix of message ids (unique per run), for the server's duplicate detection on retries. */
  runId: string;
  /** Records one latency (from the planned send time to the acknowledgement), in microseconds. */
  recordLatency: (microseconds: number) => void;
}

export class JetStreamSink implements Sink {
  readonly counts = emptyCounts();
  private inflight = 0;
  private readonly waiters = new RoomWaiters();
  private deadline = Number.POSITIVE_INFINITY;
  private readonly js: JetStreamClient;
  private readonly options: JetStreamSinkOptions;

  constructor(js: JetStreamClient, options: JetStreamSinkOptions) {
    this.js = js;
    this.options = options;
  }

  canSend(): boolean {
    return this.inflight < this.options.window;
  }

  send(generator: MessageGenerator, epoch: number, plannedMs: number, seq: number): number {
    const index = generator.nextSubjectIndex;
    generator.next(epoch);
    this.inflight += 1;
    this.counts.published += 1;
    this.attempt(generator.subject, generator.payload, plannedMs, `${this.options.runId}-${seq}`);
    return index;
  }

  tick(): void {}

  onStatus(type: string): void {
    if (type === 'reconnect') this.counts.reconnects += 1;
  }

  waitForRoom(): Promise<void> {
    return this.waiters.wait(() => this.canSend());
  }

  release(): void {
    this.waiters.releaseAll();
  }

  inFlight(): number {
    return this.inflight;
  }

  async drain(deadline: number): Promise<void> {
    this.deadline = deadline;
    while (this.inflight > 0 && performance.now() < deadline) await sleep(10);
    // Whatever is still unacknowledged is given up when its current try fails (see attempt).
    while (this.inflight > 0) await sleep(10);
  }

  private attempt(subject: string, payload: Uint8Array, plannedMs: number, msgID: string): void {
    this.js.publish(subject, payload, { msgID, timeout: this.options.ackTimeoutMs }).then(
      (ack: PubAck) => {
        if (ack.duplicate) this.counts.duplicates += 1;
        this.counts.confirmed += 1;
        this.options.recordLatency(Math.max(1, Math.round((performance.now() - plannedMs) * 1000)));
        this.settle();
      },
      (error: unknown) => {
        const reason = errorReason(error);
        this.counts.errors[reason] = (this.counts.errors[reason] ?? 0) + 1;
        if (performance.now() >= this.deadline) {
          this.counts.lost['no-ack'] += 1;
          this.settle();
          return;
        }
        this.counts.retried += 1;
        setTimeout(() => this.attempt(subject, payload, plannedMs, msgID), 250);
      },
    );
  }

  /** One publish is done with (acknowledged or given up): room for the next. */
  private settle(): void {
    this.inflight -= 1;
    this.waiters.wake(() => this.canSend());
  }
}

/**
 * Whole core-NATS PUB frames (`PUB <subject> <size>\r\n<payload>\r\n`) written into 64 KB
 * buffers and handed to the client's protocol handler in one piece. The bytes on the wire are
 * those nc.publish writes; what differs is the cost: nc.publish builds and encodes the PUB line
 * of every message and allocates its payload, which made flat-out inject 35 % slower than a bare
 * publish loop of one fixed message. Here the PUB line of each subject is encoded once and the
 * generator writes payloads in place. It relies on the handler's sendCommand (nats.js 2.x,
 * pinned in package.json); without it the sink uses nc.publish.
 */
export class PubFrames {
  /** Messages in the current buffer, not yet handed over. */
  count = 0;
  private buffer = new Uint8Array(FRAME_BUFFER_BYTES);
  private view = new DataView(this.buffer.buffer);
  private used = 0;
  /** The PUB lines of the first subjects, back to back (no object per subject: 100,000 of them is usual). */
  private headers = new Uint8Array(0);
  private readonly headerStart: Int32Array;
  private readonly encoder = new TextEncoder();
  private readonly write: (bytes: Uint8Array) => void;
  private readonly onHanded: (messages: number) => void;

  constructor(write: (bytes: Uint8Array) => void, onHanded: (messages: number) => void, generator: MessageGenerator) {
    this.write = write;
    this.onHanded = onHanded;
    const n = Math.min(generator.pointsPerCycle + 2, MAX_CACHED_HEADERS);
    this.headerStart = new Int32Array(n + 1);
    let table = new Uint8Array(n * 64);
    let used = 0;
    for (let i = 0; i < n; i += 1) {
      const line = pubLine(generator.subjectAt(i), payloadBytes(i));
      if (used + 3 * line.length > table.length) {
        const bigger = new Uint8Array(Math.max(2 * table.length, used + 3 * line.length));
        bigger.set(table.subarray(0, used));
        table = bigger;
      }
      this.headerStart[i] = used;
      used += this.encoder.encodeInto(line, table.subarray(used)).written;
    }
    this.headerStart[n] = used;
    this.headers = table.subarray(0, used);
  }

  /** Appends the generator's next message, handing the buffer over first when it is full. */
  append(generator: MessageGenerator, epoch: number): void {
    const index = generator.nextSubjectIndex;
    const size = payloadBytes(index);
    if (index + 1 < this.headerStart.length) {
      const start = this.headerStart[index]!;
      const end = this.headerStart[index + 1]!;
      if (this.used + (end - start) + size + 2 > FRAME_BUFFER_BYTES) this.hand();
      const buffer = this.buffer;
      const headers = this.headers;
      let at = this.used;
      for (let i = start; i < end; i += 1) buffer[at++] = headers[i]!;
      this.used = at;
    } else {
      const line = pubLine(generator.subjectAt(index), size);
      if (this.used + 3 * line.length + size + 2 > FRAME_BUFFER_BYTES) this.hand();
      this.used += this.encoder.encodeInto(line, this.buffer.subarray(this.used)).written;
    }
    generator.writeNext(epoch, this.view, this.used);
    this.used += size;
    this.buffer[this.used] = 13; // \r
    this.buffer[this.used + 1] = 10; // \n
    this.used += 2;
    this.count += 1;
  }

  /** Hands the buffered frames to the client. */
  hand(): void {
    const n = this.count;
    if (n === 0) return;
    this.write(this.buffer.subarray(0, this.used));
    // The client keeps a reference until it writes to the socket: never reuse a handed buffer.
    this.buffer = new Uint8Array(FRAME_BUFFER_BYTES);
    this.view = new DataView(this.buffer.buffer);
    this.used = 0;
    this.count = 0;
    this.onHanded(n);
  }

  /** Drops the buffered frames (the connection never came back); returns how many. */
  discard(): number {
    const n = this.count;
    this.used = 0;
    this.count = 0;
    return n;
  }

}

function pubLine(subject: string, size: number): string {
  return `PUB ${subject} ${size}\r\n`;
}

const FRAME_BUFFER_BYTES = 64 * 1024;
const MAX_CACHED_HEADERS = (1 << 18) + 2;

/** A short, stable name for a publish failure: "timeout", "503", "disconnect", … */
export function errorReason(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'TIMEOUT') return 'timeout';
  if (code) return code.toLowerCase();
  return (error as Error | undefined)?.message?.slice(0, 40) ?? 'error';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
