/**
 * The NATS → Cassandra bridge. Core mode: a queue subscription (instances share the load);
 * a message is gone once received, so a reading whose write keeps failing is lost (and
 * counted). JetStream mode: a durable pull consumer; a message is acknowledged only after
 * its row is written and is redelivered otherwise, so nothing is lost when ingest or
 * Cassandra restarts.
 */
import type { Client } from 'cassandra-driver';
import type { JsMsg, Msg, NatsConnection } from 'nats';
import { RuntimeError } from '../errors.js';
import { protocolWriter } from '../nats/connection.js';
import { decodeVoltage, type DecodeProblem } from '../wire/voltage.js';
import { RowWriter } from './writer.js';

export interface IngestOptions {
  subject: string;
  queue: string;
  keyspace: string;
  concurrency: number;
  consistency: number;
  /** JetStream: stream and durable consumer names; undefined for core NATS. */
  jetstream?: { stream: string; durable: string };
  /** Stop after this many messages (received in core mode, acknowledged in JetStream mode). */
  count?: number;
  /** Stop after this many milliseconds. */
  durationMs?: number;
  /** How many times a failed write is tried again in core mode before the reading is lost. */
  retries: number;
  log: (line: string) => void;
}

export interface IngestStats {
  mode: 'core' | 'jetstream';
  received: number;
  written: number;
  malformed: Record<DecodeProblem, number>;
  /** Readings Cassandra refused as invalid: never retried or redelivered. */
  rejected: number;
  /** Core mode: readings given up after the retries (with the last reason). */
  lost: number;
  lostReason?: string;
  /** JetStream mode: writes that failed and were handed back for redelivery. */
  redelivered: number;
  durationSeconds: number;
  /** Rows written per second, from the first row written to the last. */
  rowsPerSecond: number;
}

export class Ingest {
  readonly stats: IngestStats;
  private readonly writer: RowWriter;
  private stopping = false;
  private stopResolve: () => void = () => undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.stopResolve = resolve));
  private readonly started = Date.now();
  private readonly loggedProblems = new Set<string>();
  /** Writes not finished yet, retries included: run() waits for all of them. */
  private readonly outstanding = new Set<Promise<unknown>>();
  private firstWrite = 0;
  private lastWrite = 0;
  /** Acknowledgements of written rows, sent together once per event-loop turn (see ackSoon). */
  private readonly acks: JsMsg[] = [];
  /** Acks go out as raw PUB frames, all of a turn in one write (see flushAcks). */
  private readonly rawWrite: ((bytes: Uint8Array) => void) | undefined;

  constructor(
    private readonly nats: NatsConnection,
    cassandra: Client,
    private readonly options: IngestOptions,
  ) {
    this.writer = new RowWriter(cassandra, { keyspace: options.keyspace, concurrency: options.concurrency, consistency: options.consistency });
    this.rawWrite = protocolWriter(nats);
    this.stats = {
      mode: options.jetstream ? 'jetstream' : 'core',
      received: 0,
      written: 0,
      malformed: { 'bad-subject': 0, 'bad-length': 0, 'bad-epoch': 0 },
      rejected: 0,
      lost: 0,
      redelivered: 0,
      durationSeconds: 0,
      rowsPerSecond: 0,
    };
  }

  get inFlight(): number {
    return this.writer.pending;
  }

  /** Runs until stop(), --count or --duration; then drains and returns the final stats. */
  async run(): Promise<IngestStats> {
    const timer = this.options.durationMs ? setTimeout(() => this.stop(), this.options.durationMs) : undefined;
    try {
      if (this.options.jetstream) await this.runJetStream(this.options.jetstream);
      else await this.runCore();
      while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
      this.flushAcks(); // before the caller closes the connection
      await this.writer.close();
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.stats.durationSeconds = (Date.now() - this.started) / 1000;
    const writing = (this.lastWrite - this.firstWrite) / 1000;
    this.stats.rowsPerSecond = writing > 0 ? this.stats.written / writing : 0;
    return this.stats;
  }

  /** Graceful stop: no new messages; the writes in flight finish. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stopResolve();
  }

  private async runCore(): Promise<void> {
    // With --count the server stops delivering after that many messages: none is left half-taken.
    const subscription = this.nats.subscribe(this.options.subject, { queue: this.options.queue, max: this.options.count });
    void this.stopped.then(() => subscription.drain().catch(() => undefined));
    for await (const message of subscription) {
      this.stats.received += 1;
      await this.handle(message, (reading) => this.writeWithRetries(reading));
    }
  }

  private async runJetStream({ stream, durable }: { stream: string; durable: string }): Promise<void> {
    const { AckPolicy } = await import('nats');
    const manager = await this.nats.jetstreamManager();
    try {
      await manager.streams.info(stream);
    } catch {
      throw new RuntimeError(`JetStream stream "${stream}" does not exist on the server: create it first (e.g. nats stream add ${stream})`);
    }
    await manager.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: this.options.subject,
      max_ack_pending: this.options.concurrency * 8,
      ack_wait: 30_000_000_000, // ns
    }).catch((error: Error) => {
      throw new RuntimeError(`cannot create the consumer ${durable} on stream ${stream} for ${this.options.subject}: ${error.message}`);
    });
    const consumer = await this.nats.jetstream().consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: this.options.concurrency * 4 });
    // stop() ends the iteration at once (close() can wait on a pull in progress); what was
    // delivered but not handled is redelivered after the ack wait, to this consumer or another.
    void this.stopped.then(() => {
      messages.stop();
      void messages.close().catch(() => undefined);
    });
    let acked = 0;
    for await (const message of messages) {
      if (this.stopping) {
        message.nak(); // not ours any more: another instance (or the next run) takes it
        continue;
      }
      this.stats.received += 1;
      await this.handle(
        message,
        async (reading) => {
          try {
            await this.writer.write(reading);
            this.ackSoon(message);
            acked += 1;
            // Checked here: the last acknowledgements come after the last message arrived.
            if (this.options.count !== undefined && acked >= this.options.count) this.stop();
            return true;
          } catch (error) {
            if (isInvalid(error)) {
              this.stats.rejected += 1;
              this.logOnce('rejected', `Cassandra refused a reading, dropped for good: ${(error as Error).message}`);
              message.term();
              return false;
            }
            this.stats.redelivered += 1;
            this.logOnce('write', `write failed, handed back for redelivery: ${(error as Error).message}`);
            message.nak(1000);
            return false;
          }
        },
        () => message.term(), // malformed: redelivering would not help
      );
    }
  }

  /** Decodes, then writes in the background once there is room (bounded concurrency). */
  private async handle(message: Msg | JsMsg, write: (reading: Exclude<ReturnType<typeof decodeVoltage>, DecodeProblem>) => Promise<boolean>, onMalformed?: () => void): Promise<void> {
    const reading = decodeVoltage(message.subject, message.data);
    if (typeof reading === 'string') {
      this.stats.malformed[reading] += 1;
      this.logOnce(reading, `ignoring malformed messages (${reading}), first one on ${message.subject} with ${message.data.length} bytes`);
      onMalformed?.();
      return;
    }
    await this.writer.slot();
    if (this.firstWrite === 0) this.firstWrite = Date.now();
    const done = write(reading).then((ok) => {
      this.outstanding.delete(done);
      if (!ok) return;
      this.stats.written += 1;
      this.lastWrite = Date.now();
    });
    this.outstanding.add(done);
  }

  private async writeWithRetries(reading: Parameters<RowWriter['write']>[0]): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        // The first attempt holds the slot taken in handle(); retries take their own.
        if (attempt > 0) await this.writer.slot();
        await this.writer.write(reading);
        return true;
      } catch (error) {
        if (isInvalid(error)) {
          this.stats.rejected += 1;
          this.logOnce('rejected', `Cassandra refused a reading, dropped: ${(error as Error).message}`);
          return false;
        }
        if (attempt >= this.options.retries) {
          this.stats.lost += 1;
          this.stats.lostReason = (error as Error).message;
          this.logOnce('lost', `readings lost after ${this.options.retries} retries: ${(error as Error).message}`);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }

  /**
   * Acknowledges a message whose row is written, with the others completed in the same turn of
   * the event loop: each write completes in its own socket read, and an ack sent right away cost
   * one socket write each (a tenth of ingest's CPU, measured). Still one ack per message.
   */
  private ackSoon(message: JsMsg): void {
    if (this.acks.push(message) === 1) setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    // An ack is a `+ACK` message to the reply subject: `PUB <reply> 4\r\n+ACK\r\n`. Written as one
    // buffer per turn, instead of a publish (subject checks, a line encoded) per message.
    const write = this.rawWrite;
    if (write && this.nats.isClosed() === false) {
      let frames = '';
      for (const m of this.acks) {
        const reply = (m as JsMsg & { reply: string }).reply;
        if (reply) frames += `PUB ${reply} 4\r\n+ACK\r\n`;
        else m.ack(); // never for a consumer's message; the frame would be malformed
      }
      write(Buffer.from(frames));
    } else {
      for (const m of this.acks) m.ack();
    }
    this.acks.length = 0;
  }

  private logOnce(kind: string, line: string): void {
    if (this.loggedProblems.has(kind)) return;
    this.loggedProblems.add(kind);
    this.options.log(line);
  }
}

/** Cassandra's "Invalid" answer (0x2200): the same write would fail again. */
function isInvalid(error: unknown): boolean {
  return (error as { code?: number }).code === 0x2200;
}
