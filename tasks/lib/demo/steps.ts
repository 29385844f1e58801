/**
 * Steps the demo and the soak run share: a task run to completion, waiting for a new broker's coordinators, waiting
 * for the consumer to catch up, and a sleep that Ctrl-C ends.
 */
import { TaskError } from "../cli.ts";
import { parseBrokers } from "../config.ts";
import { createKafka } from "../kafka/client.ts";
import { TRADES_TOPIC } from "../kafka/topics.ts";
import { committedLakeOffsets } from "../lake/consumer.ts";
import { startService } from "../supervisor/service.ts";

/** Runs a task to completion with its output indented; returns its stdout. Throws when its exit code is not accepted. */
export async function runStep(
  name: string,
  args: string[],
  env: Record<string, string>,
  signal: AbortSignal | undefined,
  acceptedCodes = [0],
): Promise<string> {
  const service = startService(name, args, env);
  const onAbort = () => void service.stop();
  signal?.addEventListener("abort", onAbort);
  try {
    const { code, stdout } = await service.finished;
    signal?.throwIfAborted();
    if (!acceptedCodes.includes(code)) throw new TaskError(`The ${name} step failed (exit code ${code}); see above`);
    return stdout;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Waits until Kafka's group and producer-id coordinators answer: on a new broker they load for a few seconds, and a
 * consumer or idempotent producer that starts meanwhile logs errors and retries.
 */
export async function waitForCoordinators(brokers: string, signal: AbortSignal): Promise<void> {
  const kafka = createKafka(parseBrokers("KAFKA_BROKERS", brokers), { clientId: "crypto-demo", quiet: true });
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 0; attempt < 60; attempt++) {
      // An idempotent producer asks for its producer id when it connects.
      const producer = kafka.producer({ idempotent: true, retry: { retries: 1 } });
      try {
        await committedLakeOffsets(admin);
        await producer.connect();
        return;
      } catch {
        await sleep(500, signal);
      } finally {
        await producer.disconnect().catch(() => {});
      }
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Messages the lake consumer has not committed yet, over every partition of the trades topic. */
export async function consumerLag(brokers: string): Promise<number | undefined> {
  const admin = createKafka(parseBrokers("KAFKA_BROKERS", brokers), { clientId: "crypto-demo", quiet: true }).admin();
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(TRADES_TOPIC);
    const committed = await committedLakeOffsets(admin);
    return ends.reduce(
      (lag, end) => lag + Math.max(0, Number(BigInt(end.high) - (committed.get(end.partition) ?? 0n))),
      0,
    );
  } catch {
    return undefined; // a coordinator that moved or is still loading: ask again later
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Waits until the lake consumer has committed everything the trades topic holds. */
export async function waitForConsumer(brokers: string, signal: AbortSignal, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await consumerLag(brokers) === 0) return;
    await sleep(500, signal);
  }
  throw new TaskError(`The consumer did not catch up with Kafka within ${timeoutMs / 1000} s; see its output above`);
}

/** The summary JSON line a task printed on exit. */
export function summaryOf(stdout: string, event: string): Record<string, unknown> {
  const line = stdout.split("\n").find((l) => l.startsWith(`{"event":"${event}"`));
  return line ? JSON.parse(line) : {};
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    if (signal.aborted) return fail(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      done();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
