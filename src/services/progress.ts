// Progress counters reported by workers: free-form named counts (rows, successes,
// failures by class, …) sent as deltas, summed per worker and for the run.

export type Counts = Record<string, number>;

export interface WorkerProgress {
  total: Counts;
  workers: Record<string, Counts>;
}

export class ProgressBoard {
  private readonly total: Counts = {};
  private readonly workers = new Map<string, Counts>();

  add(worker: string, delta: Counts): void {
    let w = this.workers.get(worker);
    if (!w) this.workers.set(worker, (w = {}));
    for (const [k, v] of Object.entries(delta)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      w[k] = (w[k] ?? 0) + v;
      this.total[k] = (this.total[k] ?? 0) + v;
    }
  }

  snapshot(): WorkerProgress {
    return {
      total: { ...this.total },
      workers: Object.fromEntries([...this.workers].map(([k, v]) => [k, { ...v }])),
    };
  }
}
