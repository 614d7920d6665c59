import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { batchPerTurn } from '../../src/ops/batch-per-turn.js';
import { createJsonLogger, MAX_PENDING_LOG_BYTES } from '../../src/ops/logger.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the JSON log', () => {
  it("writes pino's shape: level, an ISO 8601 time, then the caller's fields, one line each", () => {
    const lines: string[] = [];
    const log = createJsonLogger((text) => lines.push(text));
    log.info({ msg: 'request', path: '/events?"x"', status: 201, skipped: undefined });
    log.error({});
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
    const [request, empty] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(Object.keys(request!), ['level', 'time', 'msg', 'path', 'status']);
    assert.equal(request!.level, 'info');
    assert.equal(request!.path, '/events?"x"');
    assert.equal(new Date(request!.time as string).toISOString(), request!.time);
    assert.deepEqual(Object.keys(empty!), ['level', 'time']);
    assert.equal(empty!.level, 'error');
  });

  it('writes the levels the configured level lets through', () => {
    const written = (level: Parameters<typeof createJsonLogger>[1]): string[] => {
      const levels: string[] = [];
      const log = createJsonLogger((text) => levels.push((JSON.parse(text) as { level: string }).level), level);
      log.info({ msg: 'a' });
      log.error({ msg: 'b' });
      return levels;
    };
    assert.deepEqual(written('debug'), ['info', 'error']);
    assert.deepEqual(written('info'), ['info', 'error']);
    assert.deepEqual(written('warn'), ['error']);
    assert.deepEqual(written('fatal'), []);
    assert.deepEqual(written('silent'), []);
  });

  it('still writes a line, with its message, whose fields JSON cannot hold', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createJsonLogger((text) => lines.push(JSON.parse(text) as Record<string, unknown>));
    const circle: Record<string, unknown> = {};
    circle.self = circle;
    log.error({ msg: 'store failed', detail: circle });
    log.info({ msg: 'count', count: 1n });
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.msg, 'store failed');
    assert.match(String(lines[0]!.unwritable_fields), /circular/);
    assert.equal(lines[1]!.msg, 'count');
    assert.match(String(lines[1]!.unwritable_fields), /BigInt/);
  });
});

describe('text batched per turn of the event loop', () => {
  it('hands on what one turn wrote as one piece, after the turn, and each later turn apart', async () => {
    const sent: Array<[string, number]> = [];
    const batch = batchPerTurn((text, pieces) => sent.push([text, pieces]));
    batch.write('a\n');
    batch.write('b\n');
    batch.write('c\n');
    assert.deepEqual(sent, [], 'nothing before the turn ends');
    await nextTurn();
    assert.deepEqual(sent, [['a\nb\nc\n', 3]]);
    batch.write('d\n');
    await nextTurn();
    await nextTurn();
    assert.deepEqual(sent, [['a\nb\nc\n', 3], ['d\n', 1]]);
  });

  it('hands on at once when flushed, and then has nothing left for the end of the turn', async () => {
    const sent: Array<[string, number]> = [];
    const batch = batchPerTurn((text, pieces) => sent.push([text, pieces]));
    batch.write('a\n');
    batch.flush();
    assert.deepEqual(sent, [['a\n', 1]]);
    await nextTurn();
    assert.deepEqual(sent, [['a\n', 1]]);
  });
});

describe('the log to stdout', () => {
  it(`drops lines past ${MAX_PENDING_LOG_BYTES} bytes waiting for a reader, says how many once read again, and loses no other`, async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../helpers/log-flood.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Nobody reads its stdout until it has written its flood (and said how many on stderr).
    child.stdout.pause();
    const [said] = (await once(child.stderr, 'data')) as [Buffer];
    const written = Number(said.toString());
    let text = '';
    let lastPiece = Date.now();
    child.stdout.setEncoding('utf8').on('data', (piece: string) => {
      text += piece;
      lastPiece = Date.now();
    });
    child.stdout.resume();
    while (Date.now() - lastPiece < 500) await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = once(child, 'exit');
    child.kill('SIGUSR2');
    const [code] = (await exited) as [number];
    assert.equal(code, 0);

    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const flood = lines.filter((line) => line.msg === 'flood');
    const notices = lines.filter((line) => line.msg === 'log lines dropped: stdout was not read fast enough');
    const dropped = notices.reduce((sum, line) => sum + (line.dropped as number), 0);
    assert.ok(dropped > 0, 'some lines were dropped');
    assert.ok(notices.every((line) => line.level === 'error'));
    assert.equal(lines.at(-1)?.msg, 'done');
    assert.equal(lines.at(-1)?.written, written);
    assert.equal(flood.length + dropped, written, 'every line was written or counted as dropped');
    const numbers = flood.map((line) => line.n as number);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'in the order written');
  });
});
