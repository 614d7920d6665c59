import type pg from 'pg';

/**
 * Runs `work` in one transaction on a connection of `pool`, begun with `begin` (which may take a
 * lock as well), committed when `work` returns and rolled back when it throws; the connection goes
 * back to the pool either way, never inside a transaction.
 */
export async function inTransaction<T>(pool: pg.Pool, begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
