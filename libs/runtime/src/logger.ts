import pino, { type Logger } from 'pino';

/** Structured JSON logs on stdout (pino). */
export function createLogger(level: string, name = 'cairn'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
export type { Logger };
