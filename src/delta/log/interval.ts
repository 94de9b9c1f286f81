// Spark interval strings used by Delta table properties, e.g. "interval 7 days", "interval 1 week", "168 hours".
const UNIT_MS: Record<string, number> = {
  microsecond: 0.001, millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000,
};

export function parseIntervalMs(s: string | undefined): number | null {
  if (!s) return null;
  const body = s.trim().toLowerCase().replace(/^interval\s+/, '');
  const re = /(-?\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let total = 0;
  let any = false;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const unit = m[2].replace(/s$/, '');
    const ms = UNIT_MS[unit];
    if (ms === undefined) return null;
    total += Number(m[1]) * ms;
    any = true;
  }
  return any ? total : null;
}
