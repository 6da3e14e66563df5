/**
 * Network workloads through a domain's first vif (netfront → netback → bridge → NIC → the link
 * partner, and back):
 *  - net-stream rx: the link partner sends `bytes` in frames of `packetBytes` at the link's full
 *    rate to the vif's MAC; the program counts what arrives. Frames lost on the way (a NIC with no
 *    free descriptor or no driver, a netback queue full or gone) are counted in the vif's drops.
 *    The run ends when the sender is done and every frame it sent is either received or counted
 *    dropped, and the vif is connected (a receiver whose backend never returns waits: it stalls).
 *    With `ackEvery` n, the receiver's kernel answers every n-th segment with a 60-byte ACK frame
 *    to the partner through its own vif (a TCP receiver's reverse traffic; the partner does not
 *    pace on it). An ACK finding the tx ring or its buffers busy is skipped: the next one covers it.
 *  - net-stream tx: the program sends the frames to the link partner as fast as the tx ring takes
 *    them; it ends when the partner has received every frame not counted dropped (the receiver's
 *    figure, as netperf reports the remote's). While the vif has no backend it waits.
 *  - net-rr: one request frame, wait for the partner's response, next (netperf TCP_RR without
 *    TCP); latency per transaction (a retransmitted one's from its first send). A request lost
 *    with its backend (unanswered on the tx ring, or inside a driver domain that died: the vif
 *    reconnects meanwhile) is sent again once the vif is back, the retransmission TCP would make;
 *    with no backend ever again the program waits: it stalls.
 */
import type { Workload } from '../api/scenario.js';
import { C } from '../machine/counters.js';
import { NETIF_RSP_OKAY } from '../api/public/io/netif.js';
import { FRAME_ACK, FRAME_RESPONSE, FRAME_STREAM, PEER_MAC, parseLabFrame, writeLabFrame, writeRequestFrame } from '../vm/io/netPeer.js';
import type { WorkloadContext } from './index.js';
import { BLOCK, MEASURE, type WorkloadStep } from './steps.js';

type NetStream = Extract<Workload, { kind: 'net-stream' }>;
type NetRr = Extract<Workload, { kind: 'net-rr' }>;

/** Send buffers the program keeps (pages it writes frames into before netfront grants them). */
const TX_BUFFERS = 64;
/** Pages the receiving kernel keeps for its ACK frames (ACKs are cumulative: one busy is skipped). */
const ACK_BUFFERS = 16;
/** A TCP ACK without options: 14 + 20 + 20 bytes, padded to Ethernet's 60-byte minimum. */
const ACK_BYTES = 60;

/** The program's view: its first interface, its kernel, counters, I/O record and driver environment. */
function firstVif(x: WorkloadContext, kind: string) {
  const vm = x.vm;
  const vif = vm.io?.vifs[0];
  if (!vm.io || !vif) throw new Error(`${vm.name}: the ${kind} workload needs a vif (vifs in the scenario), or a NIC of its own (pci)`);
  return { vif, fe: vif.front, k: vm.kernel, c: vm.counters.c, stats: vm.io.stats, env: vm.io.env };
}

export function* runNetStream(w: NetStream, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const { vif, fe, k, c, stats, env } = firstVif(x, 'net-stream');
  const frames = Math.ceil(w.bytes / w.packetBytes);
  const buffers: number[] = [];
  if (w.direction === 'tx') for (let i = 0; i < TX_BUFFERS; i++) buffers.push(k.allocPage());
  while (!fe.connected) yield BLOCK;
  yield MEASURE;
  const dropsBefore = vif.drops.dropped;
  if (w.direction === 'rx') {
    let received = 0;
    const ackEvery = w.ackEvery ?? 0;
    const ackPages: number[] = [];
    for (let i = 0; i < (ackEvery > 0 ? ACK_BUFFERS : 0); i++) ackPages.push(k.allocPage());
    fe.onReceive = (f) => {
      const lab = parseLabFrame(f);
      if (!lab || lab.kind !== FRAME_STREAM) return;
      received++;
      c[C.Ops]++;
      stats.requests++;
      stats.bytes += f.length;
      if (ackEvery > 0 && received % ackEvery === 0 && fe.connected && fe.txFree > 0 && ackPages.length > 0) {
        const pfn = ackPages.pop()!;
        const p = env.page(pfn);
        writeLabFrame(new Uint8Array(p.buffer, p.byteOffset, 4096), PEER_MAC, vif.mac, lab.seq, FRAME_ACK, ACK_BYTES);
        if (fe.send(pfn, ACK_BYTES, () => ackPages.push(pfn)) !== 'queued') ackPages.push(pfn);
      }
    };
    k.ops.syscall(); // recv() loop starts
    vif.peer.stream(vif.mac, frames, w.packetBytes, () => vif.wake());
    for (;;) {
      const accounted = received + (vif.drops.dropped - dropsBefore);
      if (accounted >= frames && fe.connected) break;
      yield BLOCK;
    }
    fe.onReceive = null;
    return;
  }
  // tx
  const partnerBefore = vif.peer.receivedFrom(vif.mac);
  let sent = 0;
  let completed = 0;
  const onPartner = () => vif.wake();
  vif.peer.listen(vif.mac, onPartner);
  try {
    for (;;) {
      while (sent < frames && fe.connected && fe.txFree > 0 && buffers.length > 0) {
        const pfn = buffers.pop()!;
        const p = env.page(pfn);
        writeLabFrame(new Uint8Array(p.buffer, p.byteOffset, 4096), PEER_MAC, vif.mac, sent, FRAME_STREAM, w.packetBytes);
        k.ops.syscall(); // send()
        const r = fe.send(pfn, w.packetBytes, (status) => {
          completed++;
          buffers.push(pfn);
          if (status !== NETIF_RSP_OKAY) return;
          c[C.Ops]++;
          stats.requests++;
          stats.bytes += w.packetBytes;
        });
        if (r !== 'queued') {
          buffers.push(pfn);
          if (r === 'busy') break;
        }
        sent++;
      }
      const delivered = vif.peer.receivedFrom(vif.mac) - partnerBefore;
      if (sent >= frames && completed >= sent && delivered + (vif.drops.dropped - dropsBefore) >= frames) break;
      yield BLOCK;
    }
  } finally {
    vif.peer.unlisten(vif.mac, onPartner);
  }
}

export function* runNetRr(w: NetRr, x: WorkloadContext): Generator<WorkloadStep, void, void> {
  const { vif, fe, k, c, stats, env } = firstVif(x, 'net-rr');
  const pfn = k.allocPage();
  while (!fe.connected) yield BLOCK;
  yield MEASURE;
  let answered = -1;
  fe.onReceive = (f) => {
    const lab = parseLabFrame(f);
    if (lab && lab.kind === FRAME_RESPONSE) answered = lab.seq;
  };
  try {
    for (let t = 0; t < w.transactions; t++) {
      const submitted = env.now();
      for (;;) {
        while (!fe.connected || fe.txFree === 0) yield BLOCK;
        const p = env.page(pfn);
        writeRequestFrame(new Uint8Array(p.buffer, p.byteOffset, 4096), PEER_MAC, vif.mac, t, w.requestBytes, w.responseBytes);
        k.ops.syscall(); // send()
        let lost = false;
        const reconnects = fe.stats.reconnects;
        const r = fe.send(pfn, w.requestBytes, (status) => {
          if (status !== NETIF_RSP_OKAY) lost = true;
        });
        if (r === 'dropped') lost = true;
        // Lost before the backend answered (the guest is told), or inside a driver domain that
        // died after answering (the guest sees only the reconnection that follows).
        while (answered !== t && !lost && fe.stats.reconnects === reconnects) yield BLOCK;
        if (answered === t) break;
        // Lost: send it again once the vif is back (the retransmission TCP would make).
      }
      k.ops.syscall(); // recv() returns
      c[C.Ops]++;
      stats.requests++;
      stats.bytes += w.requestBytes + w.responseBytes;
      stats.latencies.push(env.now() - submitted);
    }
  } finally {
    fe.onReceive = null;
  }
}
