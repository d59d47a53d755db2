// inject's fast path leans on two methods of nats.js that are not public API (the protocol
// handler's sendCommand and flushPending). Without them it still works, through nc.publish, at
// about half the rate: this test fails instead, so that a nats.js upgrade cannot slow inject down
// unnoticed.
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { MessageGenerator } from '../src/inject/generator.js';
import { Random } from '../src/inject/random.js';
import { CoreSink } from '../src/inject/sinks.js';
import { protocolWriter } from '../src/nats/connection.js';
import { rigService } from './helpers/rig.js';

const rig = rigService('nats');

describe.runIf(rig)('inject\'s fast path on the installed nats.js', () => {
  it('writes PUB frames in place through the protocol handler, not nc.publish', async () => {
    const nc = await connect({ servers: rig!.NATS_URL });
    try {
      expect(protocolWriter(nc), 'nats.js has no protocol.sendCommand any more').toBeDefined();
      const generator = new MessageGenerator({ topology: { lines: 1, transformers: 1, usagePoints: 10 }, slot: 1, subjectPrefix: 'fast.path', randomness: 0.2, predictionLength: 12, random: new Random(1) });
      const sink = new CoreSink(nc, { generator, reconnectBufferBytes: 1 << 20, maxUnconfirmedPings: 16, pingEvery: 5000 });
      expect(sink.writesFrames, 'inject fell back to nc.publish: nats.js changed its protocol handler').toBe(true);
    } finally {
      await nc.close();
    }
  });
});
