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
  /** Write whole PUB frames of this generator's subjects through the client's protocol handler (see FrameRing); absent: nc.publish. */
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
  private readonly frames: FrameRing | undefined;
  /** Writes out what the client has queued (a PING) at once, so that a frame slice handed next goes out alone, uncopied. */
  private readonly flushQueued: () => void;

  constructor(nc: NatsConnection, options: CoreSinkOptions) {
    this.nc = nc;
    this.options = options;
    const protocol = (nc as unknown as { protocol?: { flushPending?: () => void } }).protocol;
    const flushPending = typeof protocol?.flushPending === 'function' ? protocol.flushPending.bind(protocol) : undefined;
    this.flushQueued = flushPending ?? (() => undefined);
    const writer = options.generator && flushPending ? protocolWriter(nc) : undefined;
    const generator = options.generator;
    const positions = generator ? generator.endPosition - generator.firstPosition : 0;
    // Each slice is written out at once: left queued, the client would copy it together with the
    // next one into a new buffer (every byte copied once more, measured).
    const handSlice = writer && flushPending ? (bytes: Uint8Array) => (writer(bytes), flushPending()) : undefined;
    this.frames = handSlice && generator && positions <= MAX_FRAME_POSITIONS ? new FrameRing(handSlice, (n) => (this.counts.published += n), generator) : undefined;
  }

  /**
   * Whether messages go out as PUB frames written in place (FrameRing, through nats.js's
   * `protocol.sendCommand` and `flushPending`, which are not public API) rather than through
   * `nc.publish`, which is about half as fast. False when a nats.js upgrade removed either.
   */
  get writesFrames(): boolean {
    return this.frames !== undefined;
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
      this.frames?.renew(); // the client may hold slices of the old image for resending
      const backlog = this.pending.splice(0);
      this.pendingBytes = 0;
      for (const m of backlog) this.publish(m.subject, m.payload);
      this.ping();
      this.wake();
    }
  }

  /** Connected: room in the PING window. Disconnected: room in the reconnect buffer (flat-out waits there). */
  canSend(): boolean {
    if (!this.connected) return this.pendingBytes < this.options.reconnectBufferBytes;
    return this.pings < this.options.maxUnconfirmedPings && (this.frames === undefined || this.frames.hasRoom(this.accounted));
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
      this.frames.append(generator, epoch, this.counts.published);
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
    const pong = this.nc.flush();
    this.flushQueued();
    pong.then(
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
 * Whole core-NATS PUB frames (`PUB <subject> <size>\r\n<payload>\r\n`) written in place into an
 * image of the generator's share of the cycle, and handed to the client's protocol handler in
 * slices of about 64 KB. The bytes on the wire are those nc.publish writes; what differs is the
 * cost. nc.publish builds and encodes the PUB line of every message and allocates its payload;
 * copying a prepared PUB line per message still cost about 70 ns of the 190 ns a message took.
 * Here each position of the cycle has its frame at a fixed place in the image, PUB line and
 * CRLF written once: a message is only its payload, written where it belongs.
 *
 * The image holds whole cycles (one, or as many as make about 4 MB for short cycles), and a
 * frame is written again one image later. The client keeps a reference to a handed slice until
 * the socket has taken it, so a frame is rewritten only once its previous message is confirmed
 * (a PONG came back for a PING sent after it): `hasRoom` says when, and the sink waits meanwhile.
 * After a reconnection the client may still hold slices for resending: the image is then
 * replaced, not reused (`renew`). It relies on the handler's sendCommand and flushPending (nats.js
 * 2.x, pinned in package.json); without them, or for a share of more than 2^18 positions, the
 * sink uses nc.publish.
 */
export class FrameRing {
  /** Messages written and not yet handed over. */
  count = 0;
  /** Messages written into the current image since it was made (its sequence numbers: 0, 1, …). */
  private written = 0;
  /** Published messages before the current image's first (`accounted` is compared against these). */
  private base = 0;
  private image: Uint8Array;
  private view: DataView;
  /** Start of the cycle copy being written, in the image; start of what is not handed yet. */
  private cycleBase = 0;
  private handFrom = 0;
  /** End of the last frame written. */
  private end = 0;
  /** True until the first append after a renew (the image is made then, at the generator's position). */
  private stale = true;
  /** Whether the constructor's image has been taken into use. */
  private renewed = false;
  private readonly first: number;
  private readonly positions: number;
  /** Per position of the share (from the first): where its frame starts, where its payload starts (in one cycle copy). */
  private readonly frameAt: Int32Array;
  private readonly payloadAt: Int32Array;
  private readonly cycleBytes: number;
  private readonly cycles: number;
  /** Messages the image holds: its frames are rewritten after this many. */
  readonly capacity: number;
  private readonly write: (bytes: Uint8Array) => void;
  private readonly onHanded: (messages: number) => void;

  /** Throws RangeError for a share of more than MAX_FRAME_POSITIONS positions. */
  constructor(write: (bytes: Uint8Array) => void, onHanded: (messages: number) => void, generator: MessageGenerator) {
    this.write = write;
    this.onHanded = onHanded;
    this.first = generator.firstPosition;
    this.positions = generator.endPosition - generator.firstPosition;
    if (this.positions > MAX_FRAME_POSITIONS) throw new RangeError(`a share of ${this.positions} positions is too large for a frame image`);
    this.frameAt = new Int32Array(this.positions + 1);
    this.payloadAt = new Int32Array(this.positions);
    // Two passes: the sizes first, so that the cycle's frames are written once, into the image itself.
    let bytes = 0;
    for (let i = 0; i < this.positions; i += 1) {
      const size = payloadBytes(this.first + i);
      this.frameAt[i] = bytes;
      this.payloadAt[i] = bytes + Buffer.byteLength(pubLine(generator.subjectAt(this.first + i), size));
      bytes = this.payloadAt[i]! + size + 2;
    }
    this.frameAt[this.positions] = bytes;
    this.cycleBytes = bytes;
    this.cycles = Math.max(1, Math.ceil(FRAME_IMAGE_BYTES / bytes));
    this.capacity = this.cycles * this.positions;
    const image = new Uint8Array(this.cycles * bytes);
    const encoder = new TextEncoder();
    for (let i = 0; i < this.positions; i += 1) {
      encoder.encodeInto(pubLine(generator.subjectAt(this.first + i), payloadBytes(this.first + i)), image.subarray(this.frameAt[i]!));
      image[this.frameAt[i + 1]! - 2] = 13; // \r
      image[this.frameAt[i + 1]! - 1] = 10; // \n
    }
    // The subjects are in the image now; the generator builds one again only for a message sent
    // otherwise (kept while disconnected).
    generator.releaseSubjects();
    for (let c = 1; c < this.cycles; c += 1) image.copyWithin(c * bytes, 0, bytes);
    this.image = image;
    this.view = new DataView(image.buffer);
  }

  /**
   * Whether the next message's frame may be written: its previous message (one image earlier) has
   * been confirmed or counted lost, i.e. is among the first `accounted` published messages.
   */
  hasRoom(accounted: number): boolean {
    return this.stale || this.base + this.written - this.capacity < accounted;
  }

  /**
   * Writes the generator's next message (stamped `epoch`) into its frame; hands the pending slice
   * over once it reaches 64 KB or the end of the image. `published`: the sink's count of published
   * messages, handed over or not, when a new image has to be made.
   */
  append(generator: MessageGenerator, epoch: number, published: number): void {
    const p = generator.nextSubjectIndex - this.first;
    if (this.stale) this.renewAt(p, published);
    const cycleBase = this.cycleBase;
    generator.writeNext(epoch, this.view, cycleBase + this.payloadAt[p]!);
    this.written += 1;
    this.count += 1;
    if (p + 1 === this.positions) {
      this.end = cycleBase + this.cycleBytes;
      this.cycleBase = this.end;
      if (this.end === this.image.length) {
        this.hand();
        this.cycleBase = 0;
        this.handFrom = 0;
        this.end = 0;
        return;
      }
    } else {
      this.end = cycleBase + this.frameAt[p + 1]!;
    }
    if (this.end - this.handFrom >= HAND_BYTES) this.hand();
  }

  /** Hands the written frames to the client. */
  hand(): void {
    const n = this.count;
    if (n === 0) return;
    this.write(this.image.subarray(this.handFrom, this.end));
    this.handFrom = this.end;
    this.count = 0;
    this.onHanded(n);
  }

  /** The next append makes a new image (the client may still hold slices of this one). */
  renew(): void {
    this.stale = true;
  }

  /** Drops the written frames (the connection never came back); returns how many. */
  discard(): number {
    const n = this.count;
    this.count = 0;
    this.handFrom = this.end;
    return n;
  }

  private renewAt(position: number, published: number): void {
    // The first image is the one the constructor wrote; a later one is a copy of the last (the
    // PUB lines and CRLFs never change, the payloads are all rewritten before they are handed).
    if (this.renewed) {
      this.image = this.image.slice();
      this.view = new DataView(this.image.buffer);
    }
    this.renewed = true;
    this.cycleBase = 0;
    // A new image starts where the generator is: its first frames are those of `position` on.
    this.handFrom = this.frameAt[position]!;
    this.end = this.handFrom;
    this.base = published;
    this.written = position; // the frames before `position` in the first cycle are not used: count them as written long ago
    this.base -= position;
    this.stale = false;
  }
}

function pubLine(subject: string, size: number): string {
  return `PUB ${subject} ${size}\r\n`;
}

/** Slices handed to the client: about this long (the client writes a slice of 32 KB or more at once). */
const HAND_BYTES = 64 * 1024;
/** Short cycles are repeated up to about this size, so that the window of unconfirmed messages fits. */
const FRAME_IMAGE_BYTES = 4 * 1024 * 1024;
/** Shares up to this many positions get a frame image (about 100 bytes each). */
const MAX_FRAME_POSITIONS = 1 << 18;

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
