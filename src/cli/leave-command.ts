/**
 * `ringstore leave --node HOST:PORT` (docs/membership.md, Leave): asks the
 * node to leave the cluster (POST /admin/leave), then follows its handoff
 * with a cli-progress bar of the keys it still holds until it reports
 * `leave.state: done`, when it is safe to stop it.
 */
import { SingleBar, Presets } from 'cli-progress';
import { adminJson, adminTarget, type AdminFlags } from './admin-http';
import type { StatusJson } from './status-command';

interface LeaveJson { state: string; keys: number; hints: number; pendingPartitions: number }

export async function runLeave(o: AdminFlags & { wait?: boolean; timeoutS?: number }): Promise<void> {
  const pollMs = 500;
  const target = adminTarget(o);
  const res = (await adminJson(target, '/admin/leave', 'POST')) as { leave: LeaveJson };
  const first = res.leave;
  process.stdout.write(`node at ${o.node} is leaving: ${first.keys} keys, ${first.hints} hints to hand off\n`);
  if (o.wait === false) return;
  const deadline = Date.now() + (o.timeoutS ?? 3600) * 1000;
  const start = Math.max(first.keys + first.hints, 1);
  const bar = new SingleBar({
    format: ' handoff |{bar}| {percentage}% | {left} keys+hints left, {partitions} partitions moving',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  }, Presets.shades_classic);
  bar.start(start, 0, { left: first.keys + first.hints, partitions: first.pendingPartitions });
  let leave = first;
  try {
    while (leave.state !== 'done') {
      if (Date.now() > deadline) throw new Error(`node at ${o.node} has not finished leaving after ${o.timeoutS ?? 3600} s`);
      await new Promise((r) => setTimeout(r, pollMs));
      const s = (await adminJson(target, '/admin/status')) as StatusJson;
      leave = s.leave ?? leave;
      const left = leave.keys + leave.hints;
      bar.setTotal(Math.max(start, left));
      bar.update(Math.max(0, start - left), { left, partitions: leave.pendingPartitions });
    }
    bar.update(bar.getTotal(), { left: 0, partitions: 0 });
  } finally {
    bar.stop();
  }
  process.stdout.write(`node at ${o.node} has handed off all of its data; it can be stopped now\n`);
}
