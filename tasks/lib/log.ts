/**
 * Log lines of the long-running tasks: one JSON object per line for log collectors, or the plain message for a
 * person at a terminal. LOG_FORMAT chooses (`auto`, the default, picks text when stdout is a terminal).
 *
 * Every line goes to stdout, as the tasks' lines always have; the one-line failures of `runTask` (cli.ts) stay on stderr.
 */
import { type Env, loadLogFormat } from "./config.ts";
import { redact } from "./secrets.ts";

/** How serious a line is, least first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** What a line looks like: `json` (`{"ts":…,"level":…,"component":…,"msg":…}`) or `text` (the message). */
export type LogFormat = "json" | "text";

/** Extra structured values for a line: JSON keys, or ` key=value` after a text message. */
export type LogFields = Record<string, unknown>;

/** Writes lines of one component. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** How a logger writes. */
export interface LoggerOptions {
  /** Default: from LOG_FORMAT, see {@link logFormatFromEnv}. */
  format?: LogFormat;
  /** Lines below this level are dropped. Default: `info`. */
  minLevel?: LogLevel;
  /** Where a finished line goes. Default: `console.log` (stdout). */
  write?: (line: string) => void;
  /** The clock for `ts`. Default: `Date.now`. */
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const RESERVED = ["ts", "level", "component", "msg"];

/**
 * A logger for `component` (e.g. "producer").
 *
 * @throws {ConfigError} when LOG_FORMAT is not auto, json or text (and no `format` is given)
 * @example Usage
 * ```ts
 * const log = createLogger("producer", { format: "json" });
 * log.warn("Kafka send failed", { attempt: 2 });
 * // {"ts":"2025-03-01T12:00:00.000Z","level":"warn","component":"producer","msg":"Kafka send failed","attempt":2}
 * ```
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const format = options.format ?? logFormatFromEnv(Deno.env, Deno.stdout.isTerminal());
  const minRank = RANK[options.minLevel ?? "info"];
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (RANK[level] >= minRank) write(redact(formatLogLine(format, { ts: now(), level, component, message, fields })));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** The format LOG_FORMAT asks for; `auto` means text when stdout is a terminal, JSON otherwise. */
export function logFormatFromEnv(env: Env, stdoutIsTerminal: boolean): LogFormat {
  const setting = loadLogFormat(env);
  return setting === "auto" ? (stdoutIsTerminal ? "text" : "json") : setting;
}

/** One log line, without its newline. Pure. */
export function formatLogLine(
  format: LogFormat,
  line: { ts: number; level: LogLevel; component: string; message: string; fields?: LogFields | undefined },
): string {
  const fields = Object.entries(line.fields ?? {}).filter(([key, value]) =>
    !RESERVED.includes(key) && value !== undefined
  );
  if (format === "json") {
    const head = {
      ts: new Date(line.ts).toISOString(),
      level: line.level,
      component: line.component,
      msg: line.message,
    };
    return JSON.stringify({ ...head, ...Object.fromEntries(fields) }, jsonValue);
  }
  const prefix = line.level === "warn" || line.level === "error" ? `${line.level}: ` : "";
  const suffix = fields.map(([key, value]) => ` ${key}=${textValue(value)}`).join("");
  return `${prefix}${line.message}${suffix}`;
}

/**
 * The message of a line the tasks printed: `msg` of a JSON log line, or the line itself. Lets code that reads a
 * child's progress lines (the demo, the supervisor) accept either format.
 */
export function logMessage(line: string): string {
  if (!line.startsWith('{"ts":')) return line;
  try {
    const parsed = JSON.parse(line);
    return typeof parsed.msg === "string" ? parsed.msg : line;
  } catch {
    return line;
  }
}

/** JSON has no BigInt, and an Error's fields are not enumerable: write them as text. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value, jsonValue) ?? String(value);
}
