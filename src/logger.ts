// Structured JSON logs (pino) on stdout: one object per line, with a request id on every request line so that a
// client's x-request-id can be followed through the service's logs.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'proofboard', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets must never reach a log line, whatever object a caller passes in.
    redact: { paths: ['req.headers.authorization', '*.operatorToken', '*.secretKey', 'authorization'], censor: '[redacted]' },
  });
}
