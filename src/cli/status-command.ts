/** `ringstore status`: a node's view of members, ring, hints and handoff. */
export async function fetchJson(addr: string, pathname: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://${addr}${pathname}`);
  } catch (err) {
    throw new Error(`cannot reach ${addr}: ${(err as Error).message}`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${addr}${pathname} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

interface StatusJson {
  id: string; addr: string; region: string; ringVersion: string;
  members: Array<{ id: string; addr: string; region: string; state: string }>;
  partitions: { total: number; owned: number };
  hints: { pending: number };
  handoff: { active: number; done: number; total: number };
  keys?: number;
}

export async function runStatus(o: { node: string; json?: boolean }): Promise<void> {
  const s = (await fetchJson(o.node, '/admin/status')) as StatusJson;
  if (o.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return;
  }
  const lines = [
    `node ${s.id} at ${s.addr}, region ${s.region}, ring ${s.ringVersion}`,
    `partitions owned ${s.partitions.owned}/${s.partitions.total}, keys ${s.keys ?? '?'}, hints pending ${s.hints.pending}`,
    `handoff ${s.handoff.active ? `active, ${s.handoff.done}/${s.handoff.total}` : 'idle'}`,
    '',
    'members:',
    ...s.members.map((m) => `  ${m.id.padEnd(16)} ${m.addr.padEnd(22)} ${m.region.padEnd(12)} ${m.state}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
