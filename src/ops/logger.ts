import sonicBoom from 'sonic-boom';
import { batchPerTurn } from './batch-per-turn.js';

// A CommonJS module whose types declare the class as a named export, which Node's ESM loader cannot see.
const { SonicBoom } = sonicBoom;

/** Structured logging: one JSON object per line. Callers never pass keys or event bodies. */
export type Logger = {
  info(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The lines a level lets through: info and error are the only ones the service writes. */
const WRITES: Record<LogLevel, { info: boolean; error: boolean }> = {
  trace: { info: true, error: true },
  debug: { info: true, error: true },
  info: { info: true, error: true },
  warn: { info: false, error: true },
  error: { info: false, error: true },
  fatal: { info: false, error: false },
  silent: { info: false, error: false },
};

/**
 * How much text may wait for stdout: a reader that stops (a full pipe) must not grow the
 * service's memory. Lines past it are dropped, and the next line written says how many.
 */
export const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/**
 * JSON lines, `{"level":"info","time":"<ISO 8601>","msg":…,…}` (pino's shape, which log pipelines
 * read), to stdout by default through sonic-boom (pino's own writer): asynchronous, so lines that
 * arrive while a write is under way go out together in the next. `flush` writes what is pending
 * (main.ts calls it on exit). Given `write`, every line goes there at once (tests).
 */
export function createJsonLogger(write?: (text: string) => void, level: LogLevel = 'info'): Logger & { flush(): void } {
  const destination = write === undefined ? openStdout() : undefined;
  const out = write ?? ((text: string) => destination!.write(text));
  const writes = WRITES[level];
  return {
    info: (fields) => {
      if (writes.info) out(formatLine('info', fields));
    },
    error: (fields) => {
      if (writes.error) out(formatLine('error', fields));
    },
    flush: () => destination?.flushSync(),
  };
}

export const silentLogger: Logger = { info() {}, error() {} };

/**
 * One line in pino's shape, formatted here: JSON.stringify of the caller's fields after a prefix
 * and a time made once per millisecond, 0.65 µs a request line. Levels are two, and the shape one
 * line of code: pino's general serialiser, hooks and options had nothing left to do.
 */
function formatLine(label: 'info' | 'error', fields: Record<string, unknown>): string {
  let body: string;
  try {
    body = JSON.stringify(fields);
  } catch (error) {
    // A line is never worth a failed request: what could not be written says so.
    const msg = typeof fields.msg === 'string' ? fields.msg : 'log line';
    body = JSON.stringify({ msg, unwritable_fields: error instanceof Error ? error.message : String(error) });
  }
  const prefix = `{"level":"${label}","time":"${isoNow()}"`;
  return body.length === 2 ? `${prefix}}\n` : `${prefix},${body.slice(1)}\n`;
}

let clockMs = -1;
let clockIso = '';
/** The time as ISO 8601, remade only when the millisecond changes: many lines share one. */
function isoNow(): string {
  const now = Date.now();
  if (now !== clockMs) {
    clockMs = now;
    clockIso = new Date(now).toISOString();
  }
  return clockIso;
}

/**
 * Lines to stdout: those of one turn of the event loop are handed to sonic-boom together at its
 * end. Handed one by one, each cost sonic-boom a measure of the text already waiting (it keeps
 * appending to one string, and measures it in bytes on every write): under load that was most of
 * what a request line cost. Past MAX_PENDING_LOG_BYTES waiting, a turn's lines are dropped, and
 * the next lines taken say how many were. A stdout that is gone (a closed pipe) drops every line:
 * the service keeps serving, and there is nowhere left to say it.
 */
function openStdout(): { write(line: string): void; flushSync(): void } {
  const destination = new SonicBoom({ fd: 1, sync: false, maxLength: MAX_PENDING_LOG_BYTES });
  let dropped = 0;
  let refused = false;
  let broken = false;
  destination.on('drop', () => {
    refused = true;
  });
  destination.on('error', () => {
    broken = true;
  });
  const lines = batchPerTurn((text, count) => {
    const notice = dropped > 0 ? formatLine('error', { msg: 'log lines dropped: stdout was not read fast enough', dropped }) : '';
    refused = broken;
    if (!broken) destination.write(notice + text);
    if (refused) dropped += count;
    else dropped = 0;
  });
  return {
    write: lines.write,
    flushSync() {
      lines.flush();
      if (!broken) destination.flushSync();
    },
  };
}
