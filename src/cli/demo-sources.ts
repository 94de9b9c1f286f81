// Small demo source tables written with DuckDB: orders as Parquet, customers as
// CSV, so the demo shows two source formats. Values are derived from the row
// number, so every demo run sends the same requests (and gets the same scores).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '../duckdb.js';

export interface DemoSources {
  orders: string;      // Parquet: order_id, customer_id, region, amount
  customers: string;   // CSV: customer_id, segment, lifetime_value
}

function lit(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

export async function writeDemoSources(dir: string, rows: number): Promise<DemoSources> {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`demo: rows must be a whole number ≥ 1, got ${rows}`);
  await mkdir(dir, { recursive: true });
  const out: DemoSources = { orders: join(dir, 'orders.parquet'), customers: join(dir, 'customers.csv') };
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    await conn.run(`COPY (
        SELECT printf('ord-%06d', i) AS order_id,
               printf('cus-%06d', (i * 7919) % ${rows} + 1) AS customer_id,
               (['EU', 'US', 'APAC', 'LATAM'])[i % 4 + 1] AS region,
               round(((i * 2654435761) % 100000) / 100.0 + 5, 2) AS amount
        FROM range(1, ${rows + 1}) t(i) ORDER BY i
      ) TO ${lit(out.orders)} (FORMAT parquet)`);
    await conn.run(`COPY (
        SELECT printf('cus-%06d', i) AS customer_id,
               (['retail', 'smb', 'enterprise'])[i % 3 + 1] AS segment,
               round(((i * 40503) % 50000) / 10.0, 1) AS lifetime_value
        FROM range(1, ${rows + 1}) t(i) ORDER BY i
      ) TO ${lit(out.customers)} (FORMAT csv, HEADER true)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return out;
}
