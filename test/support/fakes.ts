import type { Clock, Log } from '../../shared/ports.js';

/** The instant every test starts at, with a millisecond part so that rounding to seconds shows. */
export const TEST_NOW = new Date('2026-11-02T10:00:00.750Z');

/** A clock that stands still until told to move. */
export class FakeClock {
  private ms: number;

  constructor(start: Date = TEST_NOW) {
    this.ms = start.getTime();
  }

  /** The port: a fresh Date each call, so a caller mutating it cannot move the clock. */
  readonly now: Clock = () => new Date(this.ms);

  get epochMs(): number {
    return this.ms;
  }

  get epochSeconds(): number {
    return Math.floor(this.ms / 1000);
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(date: Date): void {
    this.ms = date.getTime();
  }
}

export type LogLevel = keyof Log;

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  /** The extra objects of the call, merged as a structured logger would. */
  readonly data: Record<string, unknown>;
}

/** A Log that prints nothing and keeps every entry for assertions. */
export class RecordingLog implements Log {
  readonly entries: LogEntry[] = [];

  debug(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('debug', message, extra);
  }

  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('info', message, extra);
  }

  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('warn', message, extra);
  }

  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('error', message, extra);
  }

  /** Entries of one level, e.g. `log.at('warn')`. */
  at(level: LogLevel): LogEntry[] {
    return this.entries.filter((entry) => entry.level === level);
  }

  private record(level: LogLevel, message: string, extra: Record<string, unknown>[]): void {
    this.entries.push({ level, message, data: Object.assign({}, ...extra) });
  }
}
