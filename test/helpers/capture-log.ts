import { createJsonLogger, type Logger } from '../../src/ops/logger.js';

export type CapturedLog = {
  logger: Logger;
  /** Every line so far, parsed. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line that matches, as soon as it is written. */
  waitFor(matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** The request line of the request with this X-Request-Id (written when its response closes). */
  requestLine(requestId: string): Promise<Record<string, unknown>>;
};

/** A logger that keeps its lines, and lets a test wait for a line instead of sleeping. */
export function captureLog(): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const waiting = new Set<() => void>();
  const logger = createJsonLogger((text) => {
    for (const line of text.trimEnd().split('\n')) lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiting) wake();
  });
  const waitFor = async (matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    // Never wait forever: a line that is not written within 10 s fails the test, showing the rest.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = lines.find(matches);
      if (found !== undefined) return found;
      if (Date.now() >= deadline) throw new Error(`no such log line; the lines: ${JSON.stringify(lines)}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          waiting.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, deadline - Date.now());
        waiting.add(wake);
      });
    }
  };
  return {
    logger,
    lines,
    waitFor,
    requestLine: (requestId) => waitFor((line) => line.msg === 'request' && line.request_id === requestId),
  };
}
