/**
 * A process that floods its JSON log on stdout (for the logger's test): 200 turns of 100 lines of
 * about 1 KB, far more than MAX_PENDING_LOG_BYTES, then says on stderr how many it wrote, and on
 * SIGUSR2 logs one last line, `done`, and exits once everything taken is written.
 */
import { createJsonLogger } from '../../src/ops/logger.js';

const log = createJsonLogger();
const pad = 'x'.repeat(1000);
let written = 0;

const turn = (left: number): void => {
  for (let i = 0; i < 100; i++) log.info({ msg: 'flood', n: written++, pad });
  if (left > 1) {
    setImmediate(() => turn(left - 1));
    return;
  }
  process.stderr.write(`${written}\n`);
  const waiting = setTimeout(() => process.exit(2), 60_000);
  process.once('SIGUSR2', () => {
    clearTimeout(waiting);
    log.info({ msg: 'done', written });
  });
};
turn(200);
