/**
 * Secrets (Kafka passwords, a webhook URL with its token) as values that cannot be printed by accident: a
 * {@link Secret} shows as `[redacted]` in template strings, JSON, `console.log` and `Deno.inspect`, and only
 * `reveal()` hands out the value, at the one place that needs it (the Kafka client, the HTTP request).
 *
 * Every secret made here is also remembered by {@link redact}, which the project's logger, the kafkajs log bridge and
 * the task runner's one-line failures pass their text through: a secret that reaches a message some other way (an
 * error that quotes a URL) is still masked.
 */

const REDACTED = "[redacted]";

/** Values shorter than this are not masked in free text: "a" would mask every "a". Real secrets are longer. */
const SHORTEST_MASKED = 6;

const known = new Set<string>();

/** A secret value; prints as `[redacted]`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    if (value.length >= SHORTEST_MASKED) known.add(value);
  }

  /** The value itself, for the one call that needs it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/** `text` with every secret made in this process replaced by `[redacted]`. */
export function redact(text: string): string {
  let masked = text;
  for (const value of known) if (masked.includes(value)) masked = masked.replaceAll(value, REDACTED);
  return masked;
}

/** Why a secret file cannot be used, in the words of a one-line config error. */
export function unreadableFileReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "it does not exist";
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return "it may not be read (keep it under data/secrets/)";
  }
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  return `it cannot be read (${error instanceof Error ? error.name : String(error)})`;
}
