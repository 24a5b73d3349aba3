/**
 * The shop's view of the ringstore cluster: which node serves which region,
 * and the partition control (DESIGN.md HTTP API, `/admin/faults`).
 *
 * Cutting region X off means: every node in X drops its messages to every
 * other region, and every other node drops its messages to X, so both sides
 * keep serving on their own (consistency `local`) and diverge until the heal.
 * The HTTP API of each node stays reachable from the shop throughout: only the
 * peer links are cut, which is what a link failure between datacenters does.
 */
import { fetchJson } from './node-http';

export interface NodeInfo {
  id: string;
  addr: string;
  region: string;
}

export interface PartitionState {
  /** Regions cut off from all the others, as seen from the nodes' fault settings. */
  isolated: string[];
  /** True when any node drops messages to any region. */
  anyCut: boolean;
  /** Nodes whose fault setting could not be read. */
  unknown: string[];
}

export class ClusterView {
  private known = new Map<string, NodeInfo>();
  private lastRefreshMs = 0;

  constructor(private readonly addrs: readonly string[], private readonly timeoutMs = 3000) {}

  /** Ask every node who it is; keeps what it learnt before for nodes that do not answer. Returns the nodes that answered. */
  async refresh(): Promise<NodeInfo[]> {
    this.lastRefreshMs = Date.now();
    const got = await Promise.all(this.addrs.map(async (addr) => {
      try {
        const st = await fetchJson<{ id: string; region: string }>(`http://${addr}/admin/status`, { timeoutMs: this.timeoutMs });
        const info = { id: String(st.id), addr, region: String(st.region) };
        this.known.set(addr, info);
        return info;
      } catch {
        return null; // the caller sees who answered; the page shows the node as unreachable
      }
    }));
    return got.filter((x): x is NodeInfo => x !== null);
  }

  /** Refresh when some node has never answered, at most every `everyMs`. */
  async ensureKnown(everyMs = 2000): Promise<void> {
    if (this.known.size < this.addrs.length && Date.now() - this.lastRefreshMs >= everyMs) await this.refresh();
  }

  nodes(): NodeInfo[] {
    return this.addrs.map((a) => this.known.get(a)).filter((x): x is NodeInfo => x !== undefined);
  }

  regions(): string[] {
    return [...new Set(this.nodes().map((n) => n.region))];
  }

  /** The node a device in `region` talks to (the first one listed in that region). */
  nodeFor(region: string): NodeInfo | undefined {
    return this.nodes().find((n) => n.region === region);
  }

  /** Cut `region` off from every other region, on every node. */
  async cut(region: string): Promise<void> {
    const others = this.regions().filter((r) => r !== region);
    await Promise.all(this.nodes().map((n) => fetchJson(`http://${n.addr}/admin/faults`, {
      method: 'POST', body: { cut: n.region === region ? others : [region] }, timeoutMs: this.timeoutMs,
    })));
  }

  /** Remove every injected fault on every node. */
  async heal(): Promise<void> {
    await Promise.all(this.nodes().map((n) => fetchJson(`http://${n.addr}/admin/faults`, {
      method: 'DELETE', timeoutMs: this.timeoutMs,
    })));
  }

  async partition(): Promise<PartitionState> {
    const regions = this.regions();
    const cutBy = new Map<string, Set<string>>();
    const unknown: string[] = [];
    await Promise.all(this.nodes().map(async (n) => {
      try {
        const f = await fetchJson<{ cut?: string[] }>(`http://${n.addr}/admin/faults`, { timeoutMs: this.timeoutMs });
        cutBy.set(n.addr, new Set(f.cut ?? []));
      } catch {
        unknown.push(n.id);
      }
    }));
    const anyCut = [...cutBy.values()].some((s) => s.size > 0);
    // A region is isolated when its nodes drop every other region.
    const isolated = regions.filter((r) => {
      const inRegion = this.nodes().filter((n) => n.region === r);
      const others = regions.filter((x) => x !== r);
      return others.length > 0 && inRegion.length > 0 && inRegion.every((n) => others.every((o) => cutBy.get(n.addr)?.has(o)));
    });
    return { isolated, anyCut, unknown };
  }
}
