/** Structured logging: one JSON object per line. Callers never pass keys or event bodies. */
export type Logger = {
  info(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
};

export function createJsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (level: string, fields: Record<string, unknown>): void => {
    write(JSON.stringify({ time: new Date().toISOString(), level, ...fields }) + '\n');
  };
  return {
    info: (fields) => emit('info', fields),
    error: (fields) => emit('error', fields),
  };
}

export const silentLogger: Logger = { info() {}, error() {} };
