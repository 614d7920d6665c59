import pino from 'pino';

/** Structured logging: one JSON object per line. Callers never pass keys or event bodies. */
export type Logger = {
  info(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines through pino: `{"level":"info","time":"<ISO 8601>","msg":…,…}`. To stdout by default,
 * written asynchronously (a synchronous write per request was a large share of the ingest path's
 * time); `flush` writes what is pending (main.ts calls it on exit). Given `write`, every line goes
 * there at once (tests).
 */
export function createJsonLogger(write?: (text: string) => void, level: LogLevel = 'info'): Logger & { flush(): void } {
  // Asynchronous: while one write is under way the next lines gather and go out together, so
  // under load there are few writes, and at rest each line leaves at once.
  const destination = write === undefined ? pino.destination({ dest: 1, sync: false }) : undefined;
  const logger = pino(
    {
      level,
      base: null, // no pid or hostname on every line: the orchestrator adds its own labels
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? { write: write! },
  );
  return {
    info: (fields) => logger.info(fields),
    error: (fields) => logger.error(fields),
    flush: () => destination?.flushSync(),
  };
}

export const silentLogger: Logger = { info() {}, error() {} };
