/** `ringstore status` text: members with detector figures, a handoff bar and per-partition lines. */
import { strict as assert } from 'node:assert';
import { formatStatus, type StatusJson } from '../../src/cli/status-command';

const base: StatusJson = {
  id: 'n1', addr: '127.0.0.1:7000', region: 'r1', ringVersion: 'abc',
  members: [
    { id: 'n1', addr: '127.0.0.1:7000', region: 'r1', state: 'alive', incarnation: 3 },
    { id: 'n2', addr: '127.0.0.1:7001', region: 'r2', state: 'suspect', incarnation: 1, phi: 9.5, silentMs: 2500 },
    { id: 'n3', addr: '127.0.0.1:7002', region: 'r3', state: 'down', incarnation: 1, phi: 0, silentMs: null },
  ],
  partitions: { total: 256, owned: 85 },
  hints: { pending: 0 },
  handoff: { active: 0, done: 0, total: 0 },
  keys: 10,
};

describe('cli/status-command', () => {
  it('shows each member with what the detector knows of it', () => {
    const text = formatStatus(base);
    assert.match(text, /n2 +127\.0\.0\.1:7001 +r2 +suspect +heard 2500 ms ago, phi 9\.5/);
    assert.match(text, /n3 .* down +never heard/);
    assert.match(text, /handoff: idle/);
  });

  it('shows how the replicas are spread over the regions', () => {
    const text = formatStatus({
      ...base,
      placement: {
        n: 3, regions: ['r1', 'r2', 'r3'], inEveryRegion: 256,
        groups: [{ replicasPerRegion: { r1: 1, r2: 1, r3: 1 }, partitions: 256 }],
      },
    });
    assert.match(text, /placement of the N=3 replicas over 3 region\(s\); 256\/256 partitions have a replica in every region/);
    assert.match(text, /\n +256 partitions: r1 1 \+ r2 1 \+ r3 1\n/);
  });

  it('draws handoff progress with a bar and one line per moving partition', () => {
    const text = formatStatus({
      ...base,
      handoff: {
        active: 2, done: 2, total: 4, keysSent: 1500, bytesSent: 3_000_000, mbPerSec: 2.5,
        incoming: { active: 1, done: 0, keys: 0 },
        partitions: [
          { direction: 'out', partition: 7, state: 'done', drop: true, targets: [{ id: 'n4', state: 'done', keysSent: 10, keysTotal: 10 }] },
          { direction: 'out', partition: 9, state: 'streaming', drop: true, targets: [{ id: 'n4', state: 'streaming', keysSent: 50, keysTotal: 200 }] },
          { direction: 'out', partition: 12, state: 'waiting', drop: false, targets: [{ id: 'n5', state: 'waiting', keysSent: 0, keysTotal: 0, error: 'RS_ERR_UNREACHABLE' }] },
          { direction: 'in', partition: 30, state: 'receiving', from: 'n2', keys: 80 },
        ],
      },
    });
    assert.match(text, /handoff: active, 2\/4 partitions done \(incoming: 1 active, 0 done\), 1500 keys \/ 3\.0 MB sent, 2\.5 MB\/s/);
    assert.match(text, /\u2588{15}\u2591{15}  50% \| 2\/4 partitions/);
    assert.match(text, /p9 +out -> n4 streaming 50\/200; then drop \[streaming\]/);
    assert.match(text, /p12 +out -> n5 waiting 0\/0 \(RS_ERR_UNREACHABLE\) \[waiting\]/);
    assert.match(text, /p30 +in {2}<- n2 +receiving \(80 keys\)/);
    assert.doesNotMatch(text, /p7 /, 'finished partitions are not listed');
  });
});
