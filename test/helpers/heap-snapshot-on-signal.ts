/**
 * Loaded into a service process with NODE_OPTIONS=--import, for tests only: on SIGUSR2 it writes
 * a heap snapshot (which collects garbage first) into HEAP_SNAPSHOT_DIR and says where on stderr,
 * so that a test can wait for that line rather than for the file to look finished.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

let taken = 0;
process.on('SIGUSR2', () => {
  const file = writeHeapSnapshot(join(process.env.HEAP_SNAPSHOT_DIR ?? '.', `service-${process.pid}-${++taken}.heapsnapshot`));
  process.stderr.write(`heap snapshot written: ${file}\n`);
});
