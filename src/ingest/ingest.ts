/**
 * The NATS → Cassandra bridge. Core mode: a queue subscription (instances share the load);
 * a message is gone once received, so a reading whose write keeps failing is lost (and
 * counted). JetStream mode: a durable pull consumer; a message is acknowledged only after
 * its row is written and is redelivered otherwise, so nothing is lost when ingest or
 * Cassandra restarts.
 */
import type { Client } from 'cassandra-driver';
import type { ConsumerConfig, JetStreamManager, JsMsg, Msg, NatsConnection } from 'nats';
import { RuntimeError } from '../errors.js';
import { protocolWriter } from '../nats/connection.js';
import { decodeVoltage, type DecodeProblem, type VoltageReading } from '../wire/voltage.js';
import type { KeyspaceName } from '../cassandra/keyspace.js';
import { isInvalid, RowWriter } from './writer.js';

export interface IngestOptions {
  subject: string;
  queue: string;
  /** resolveKeyspace's: the statements write it as CQL must. */
  keyspace: KeyspaceName;
  /** Rows being written at most. */
  concurrency: number;
  /** Rows per unlogged batch at most (1: row by row); RowWriter's default when undefined. */
  batchSize?: number;
  consistency: number;
  /** JetStream: stream and durable consumer names; undefined for core NATS. */
  /** createSubjects: when the stream is missing, create it for these subjects (else it is an error). */
  jetstream?: { stream: string; durable: string; createSubjects?: string[] };
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
  /** JetStream mode: readings not written when ingest stopped, handed back for the next consumer. */
  handedBack: number;
  durationSeconds: number;
  /** Rows written per second, from the first row written to the last. */
  rowsPerSecond: number;
  /** Write requests sent to Cassandra: unlogged batches and single rows. */
  writeRequests: number;
}

export class Ingest {
  readonly stats: IngestStats;
  private readonly writer: RowWriter;
  private stopping = false;
  private stopResolve: () => void = () => undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.stopResolve = resolve));
  private readonly started = Date.now();
  private readonly loggedProblems = new Set<string>();
  /** Readings taken and not finished yet (written, refused or given up), retries included. */
  private outstanding = 0;
  /** Resolves run()'s wait for the outstanding readings. */
  private onSettled: (() => void) | undefined;
  private firstWrite = 0;
  private lastWrite = 0;
  /** Acknowledgements of written rows, sent together once per event-loop turn (see ackSoon). */
  private readonly acks: JsMsg[] = [];
  /** Acks go out as raw PUB frames, all of a turn in one write (see flushAcks). */
  private readonly rawWrite: ((bytes: Uint8Array) => void) | undefined;
  /** JetStream answers (ack, nak, term) not sent because the connection had closed (see answer). */
  private unsent = 0;

  constructor(
    private readonly nats: NatsConnection,
    cassandra: Client,
    private readonly options: IngestOptions,
  ) {
    this.writer = new RowWriter(cassandra, { keyspace: options.keyspace, concurrency: options.concurrency, batchSize: options.batchSize, consistency: options.consistency });
    this.rawWrite = protocolWriter(nats);
    this.stats = {
      mode: options.jetstream ? 'jetstream' : 'core',
      received: 0,
      written: 0,
      malformed: { 'bad-subject': 0, 'bad-length': 0, 'bad-epoch': 0 },
      rejected: 0,
      lost: 0,
      redelivered: 0,
      handedBack: 0,
      durationSeconds: 0,
      rowsPerSecond: 0,
      writeRequests: 0,
    };
  }

  /** Writes under way. */
  get inFlight(): number {
    return this.writer.pending;
  }

  /** Readings waiting for a write slot. */
  get queued(): number {
    return this.writer.queued;
  }

  /** Write requests sent so far: unlogged batches and single rows. */
  get writeRequests(): number {
    return this.writer.requests;
  }

  /**
   * Runs until stop(), --count or --duration; then drains and returns the final stats. Throws a
   * RuntimeError "NATS connection closed: …" when the connection closes by itself (the server went
   * away and reconnecting gave up), once the writes taken have finished and the counts are flushed.
   */
  async run(): Promise<IngestStats> {
    const timer = this.options.durationMs ? setTimeout(() => this.stop(), this.options.durationMs) : undefined;
    let failure: unknown;
    try {
      if (this.options.jetstream) await this.runJetStream(this.options.jetstream);
      else await this.runCore();
    } catch (error) {
      failure = error;
    }
    if (timer) clearTimeout(timer);
    // Also after a failure: the writes under way finish and are acknowledged, and the counts are
    // flushed, or those readings would come again (and be counted twice).
    if (this.outstanding > 0) await new Promise<void>((resolve) => (this.onSettled = resolve));
    this.flushAcks();
    // The acks and naks must reach the server before the caller closes the connection: close()
    // drops what is still buffered, and those messages would come again after the ack wait.
    if (!this.nats.isClosed()) await this.nats.flush().catch(() => undefined);
    await this.writer.close();
    if (this.unsent > 0) {
      this.options.log(`${this.unsent} JetStream answers (ack, nak, term) not sent: the NATS connection had closed; the stream ` +
        'delivers those readings again (a row written again is the same row, but raw_data_count counts it again)');
    }
    // Only the caller closes the connection, after run(): closed now, it closed by itself (the
    // server went away and reconnecting gave up), and that is the cause, whatever failed on the way
    // (a call on the closed connection) or nothing at all (a core subscription just ends).
    if (this.nats.isClosed()) failure = natsClosed(await this.nats.closed());
    if (failure !== undefined) throw failure;
    this.stats.durationSeconds = (Date.now() - this.started) / 1000;
    const writing = (this.lastWrite - this.firstWrite) / 1000;
    this.stats.rowsPerSecond = writing > 0 ? this.stats.written / writing : 0;
    this.stats.writeRequests = this.writer.requests;
    return this.stats;
  }

  /** True once reading: the core subscription reached the server, or the JetStream consumer delivers (readiness). */
  get reading(): boolean {
    return this.subscribed && !this.stopping;
  }

  private subscribed = false;

  /** Graceful stop: no new messages; the writes in flight finish. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stopResolve();
  }

  private async runCore(): Promise<void> {
    let failure: Error | undefined;
    // With --count the server stops delivering after that many messages: none is left half-taken.
    const subscription = this.nats.subscribe(this.options.subject, {
      queue: this.options.queue,
      max: this.options.count,
      callback: (error, message) => {
        // A throw here would go up into the client's parser, which would stop reading for good.
        try {
          if (error) throw error;
          this.stats.received += 1;
          const reading = this.decode(message);
          if (reading) this.writeWithRetries(reading, 0);
        } catch (thrown) {
          failure ??= thrown as Error;
          this.stop();
        }
      },
    });
    // The SUB has reached the server once a flush comes back: from then on nothing published is missed.
    void this.nats.flush().then(() => (this.subscribed = true), () => undefined);
    await Promise.race([this.stopped, subscription.closed]);
    await subscription.drain().catch(() => undefined);
    if (failure) throw failure;
  }

  private async runJetStream({ stream, durable, createSubjects }: { stream: string; durable: string; createSubjects?: string[] }): Promise<void> {
    const { AckPolicy } = await import('nats');
    const manager = await this.nats.jetstreamManager();
    const exists = await manager.streams.info(stream).then(() => true, () => false);
    if (!exists && !createSubjects) throw new RuntimeError(`JetStream stream "${stream}" does not exist on the server: create it first (e.g. nats stream add ${stream}), or pass --create-stream`);
    if (!exists) {
      const made = await manager.streams.add({ name: stream, subjects: createSubjects }).then(() => true, async (error: Error) => {
        // Another ingest replica may have made it meanwhile: fine if it is the same stream.
        const other = await manager.streams.info(stream).catch(() => undefined);
        if (other && createSubjects!.every((subject) => other.config.subjects?.includes(subject))) return false;
        throw new RuntimeError(`cannot create JetStream stream "${stream}" for ${createSubjects!.join(', ')}: ${error.message}`);
      });
      if (made) this.options.log(`created JetStream stream ${stream} for ${createSubjects!.join(', ')}`);
    }
    await this.ensureConsumer(manager, stream, durable, AckPolicy.Explicit);
    const consumer = await this.nats.jetstream().consumers.get(stream, durable);
    let acked = 0;
    const handBack: JsMsg[] = [];
    // A callback per message rather than an async iterator: no promise and no await per message.
    const messages = await consumer.consume({
      max_messages: this.options.concurrency * 2,
      callback: (message) => {
        if (this.stopping) {
          handBack.push(message); // not ours any more: another instance (or the next run) takes it
          return;
        }
        this.stats.received += 1;
        const reading = this.decode(message);
        if (!reading) {
          this.answer(message, 'term'); // malformed: redelivering would not help
          return;
        }
        this.take();
        this.writer.submit(reading, (error) => {
          if (!error) {
            this.ackSoon(message);
            this.wrote();
            acked += 1;
            // Checked here: the last acknowledgements come after the last message arrived.
            if (this.options.count !== undefined && acked >= this.options.count) this.stop();
          } else if (error === STOPPED) {
            this.stats.handedBack += 1;
            this.answer(message, 'nak');
          } else if (isInvalid(error)) {
            this.stats.rejected += 1;
            this.logOnce('rejected', `Cassandra refused a reading, dropped for good: ${error.message}`);
            this.answer(message, 'term');
          } else {
            this.stats.redelivered += 1;
            this.logOnce('write', `write failed, handed back for redelivery: ${error.message}`);
            this.answer(message, 'nak', 1000);
          }
          this.settle();
        });
      },
    });
    this.subscribed = true;
    const failure = await Promise.race([
      this.stopped.then(() => undefined),
      messages.closed(),
      // A connection closed for good (the consumer's subscription then never reports it).
      this.nats.closed().then(natsClosed),
    ]);
    // Stopped: no more deliveries. The readings not written yet go back to the server (a nak);
    // those being written finish. The naks wait until the server has seen the unsubscribe, so it
    // redelivers them to the next consumer at once (nats-server delivers nothing into a pull
    // request after its subscriber unsubscribed: traced on 2.15.2, the rig's, and on 2.9.10).
    // Readings it sent just before, still unread when stop() dropped the subscription here, are
    // discarded by the client, neither acknowledged nor handed back: they come again only after
    // the 30 s ack wait (later, not lost; see the README).
    messages.stop();
    await this.nats.flush().catch(() => undefined);
    for (const message of handBack) this.answer(message, 'nak');
    this.stats.handedBack += handBack.length;
    this.writer.discardQueued(STOPPED);
    if (failure) throw failure;
  }

  /**
   * The durable consumer, shared by every ingest reading the stream: created with this ingest's
   * settings when it is missing; when it exists, used as it is, never reconfigured, so instances
   * started with other flags do not change each other's consumer. Settings that only tune it
   * (max_ack_pending, ack_wait) may differ: said in one line, and the consumer's own apply.
   * Settings that change what is read or how it is acknowledged (the filter subject, the ack
   * policy, push delivery) are refused, naming them: ingest would read other readings than asked,
   * or lose them.
   */
  private async ensureConsumer(manager: JetStreamManager, stream: string, durable: string, explicit: ConsumerConfig['ack_policy']): Promise<void> {
    // max_ack_pending bounds what the server hands out unacknowledged, so it also bounds the
    // readings queued here for a write slot: at most one more window behind the writes under way.
    // A deeper queue did not write faster, and with slow writes (the driver waits up to 12 s) its
    // readings would outlive the ack wait and be delivered, and written, twice.
    const wanted = {
      durable_name: durable,
      ack_policy: explicit,
      filter_subject: this.options.subject,
      max_ack_pending: this.options.concurrency * 2,
      ack_wait: ACK_WAIT_NS,
    };
    const what = `the JetStream consumer "${durable}" of stream ${stream}`;
    const lookUp = () =>
      manager.consumers.info(stream, durable).then(
        (info) => info.config,
        (error: Error & { api_error?: { err_code?: number } }) => {
          if (error.api_error?.err_code === CONSUMER_NOT_FOUND) return undefined;
          throw new RuntimeError(`cannot look up ${what}: ${error.message}`);
        },
      );
    let existing = await lookUp();
    if (!existing) {
      // Created with action "create": never an update of a consumer made meanwhile.
      existing = await manager.consumers.add(stream, wanted).then(
        () => {
          this.options.log(`created ${what} for ${wanted.filter_subject} (max_ack_pending ${wanted.max_ack_pending}, ack wait ${ACK_WAIT_NS / 1e9} s)`);
          return undefined;
        },
        async (error: Error) => {
          // Another ingest made it between the look-up and the creation: that one is used.
          const made = await lookUp().catch(() => undefined);
          if (made) return made;
          throw new RuntimeError(`cannot create ${what} for ${this.options.subject}: ${error.message}`);
        },
      );
    }
    if (!existing) return;
    const refused: string[] = [];
    const tuned: string[] = [];
    if (existing.deliver_subject) refused.push(`deliver_subject ${existing.deliver_subject} (a push consumer; ingest pulls)`);
    if (existing.ack_policy !== wanted.ack_policy) refused.push(`ack_policy ${existing.ack_policy} (ingest acknowledges each reading: ${wanted.ack_policy})`);
    const filters = existing.filter_subject ? [existing.filter_subject] : (existing.filter_subjects ?? []);
    if (filters.length !== 1 || filters[0] !== wanted.filter_subject) {
      refused.push(`filter_subject ${filters.length ? filters.join(',') : 'none (the whole stream)'} (this ingest reads ${wanted.filter_subject})`);
    }
    if (existing.max_ack_pending !== wanted.max_ack_pending) {
      tuned.push(`max_ack_pending ${existing.max_ack_pending} (--concurrency ${this.options.concurrency} would make it ${wanted.max_ack_pending})`);
    }
    if (existing.ack_wait !== wanted.ack_wait) tuned.push(`ack_wait ${(existing.ack_wait ?? 0) / 1e9} s (ingest makes it ${ACK_WAIT_NS / 1e9} s)`);
    if (refused.length) {
      throw new RuntimeError(`${what} exists with other settings: ${[...refused, ...tuned].join('; ')}; not used and left as it is ` +
        `(remove it, e.g. nats consumer rm ${stream} ${durable}, while no ingest reads it, or choose another --durable)`);
    }
    if (tuned.length) this.options.log(`${what} exists with other settings, used as it is: ${tuned.join('; ')}`);
  }

  /** The reading in a message, or undefined (counted and logged once per kind) when it is malformed. */
  private decode(message: Msg | JsMsg): VoltageReading | undefined {
    const reading = decodeVoltage(message.subject, message.data);
    if (typeof reading !== 'string') return reading;
    this.stats.malformed[reading] += 1;
    this.logOnce(reading, `ignoring malformed messages (${reading}), first one on ${message.subject} with ${message.data.length} bytes`);
    return undefined;
  }

  /** Core mode: writes, trying again with backoff up to --retries times before the reading is lost. */
  private writeWithRetries(reading: VoltageReading, attempt: number): void {
    if (attempt === 0) this.take();
    this.writer.submit(reading, (error) => {
      // Never STOPPED: core NATS has no redelivery, so a stopping ingest still writes what it took.
      if (!error) {
        this.wrote();
      } else if (isInvalid(error)) {
        this.stats.rejected += 1;
        this.logOnce('rejected', `Cassandra refused a reading, dropped: ${error.message}`);
      } else if (attempt >= this.options.retries) {
        this.stats.lost += 1;
        this.stats.lostReason = error.message;
        this.logOnce('lost', `readings lost after ${this.options.retries} retries: ${error.message}`);
      } else {
        setTimeout(() => this.writeWithRetries(reading, attempt + 1), 200 * 2 ** attempt);
        return;
      }
      this.settle();
    });
  }

  private take(): void {
    this.outstanding += 1;
    if (this.firstWrite === 0) this.firstWrite = Date.now();
  }

  private wrote(): void {
    this.stats.written += 1;
    this.lastWrite = Date.now();
  }

  /** A taken reading is done with (written, refused, given up or handed back). */
  private settle(): void {
    this.outstanding -= 1;
    if (this.outstanding === 0 && this.onSettled) {
      const resolve = this.onSettled;
      this.onSettled = undefined;
      resolve();
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
    if (this.acks.length === 0) return;
    // An ack is a `+ACK` message to the reply subject: `PUB <reply> 4\r\n+ACK\r\n`. Written as one
    // buffer per turn, instead of a publish (subject checks, a line encoded) per message.
    const write = this.rawWrite;
    if (write && this.nats.isClosed() === false) {
      let frames = '';
      for (const m of this.acks) {
        const reply = (m as JsMsg & { reply: string }).reply;
        if (reply) frames += `PUB ${reply} 4\r\n+ACK\r\n`;
        else this.answer(m, 'ack'); // never for a consumer's message; the frame would be malformed
      }
      write(Buffer.from(frames));
    } else {
      for (const m of this.acks) this.answer(m, 'ack');
    }
    this.acks.length = 0;
  }

  /**
   * Acknowledges (ack), hands back (nak, redelivered after `delayMs`, else at once) or drops for
   * good (term) a JetStream message. Once the connection has closed it sends nothing and counts
   * the message in `unsent`, said once when run() ends: nats.js 2.29 drops such an answer without
   * a word, while a client that checks the connection (its publish() does) throws, and these run
   * in the driver's and the consumer's callbacks, where a throw would be uncaught. Never throws.
   */
  private answer(message: JsMsg, how: 'ack' | 'nak' | 'term', delayMs?: number): void {
    if (!this.nats.isClosed()) {
      try {
        if (how === 'nak') message.nak(delayMs);
        else if (how === 'term') message.term();
        else message.ack();
        return;
      } catch {
        // The connection closed or started to close under it: not sent, counted below.
      }
    }
    this.unsent += 1;
  }

  private logOnce(kind: string, line: string): void {
    if (this.loggedProblems.has(kind)) return;
    this.loggedProblems.add(kind);
    this.options.log(line);
  }
}

/**
 * The failure of a run whose NATS connection closed by itself, in one line with the client's
 * reason: after a server that went away, the last reconnection attempt's error ("reconnecting
 * gave up (connect ECONNREFUSED 127.0.0.1:4222)"); otherwise what the server said or nothing.
 */
function natsClosed(cause: Error | void): RuntimeError {
  if (!cause) return new RuntimeError('NATS connection closed');
  const { code, chainedError } = cause as Error & { code?: string; chainedError?: Error };
  const detail = chainedError?.message ?? cause.message;
  return new RuntimeError(`NATS connection closed: ${code === 'CONNECTION_REFUSED' ? `reconnecting gave up (${detail})` : chainedError ? `${cause.message} (${detail})` : detail}`);
}

/** How long the server waits for an acknowledgement before it delivers a reading again (ns). */
const ACK_WAIT_NS = 30_000_000_000;

/** JetStream's "consumer not found" (JSConsumerNotFoundErr). */
const CONSUMER_NOT_FOUND = 10014;

/** Handed to the callbacks of readings still queued when a JetStream ingest stops. */
const STOPPED = new Error('ingest stopped before this reading was written');
