/**
 * Kafka failures a user must fix, in one line: a login refused, a certificate the CA does not vouch for, a principal
 * without the ACL it needs, a PLAINTEXT client at a TLS listener. Retrying would fail the same way, so tasks stop
 * with an {@link AccessError} (exit code 2) instead of retrying or printing a kafkajs stack trace.
 */
import { AccessError } from "../cli.ts";
import type { Admin } from "kafkajs";
import type { BrokerAddress, KafkaSecurity } from "../config.ts";

/** What the task needed when it failed, to name in the message. */
export interface AccessNeed {
  brokers: BrokerAddress[];
  security: KafkaSecurity;
  /** The topic it writes or reads and how, e.g. `{ name: "crypto.trades.v1", operation: "Write" }`. */
  topic?: { name: string; operation: "Write" | "Read" | "Create" };
  /** The consumer group it uses. */
  group?: string;
}

/** The errors of a kafkajs error's chain (retries wrap the original, the SASL error wraps the broker's). */
function chain(error: unknown): { name: string; message: string; type?: string }[] {
  const found: { name: string; message: string; type?: string }[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    found.push({ name: current.name, message: current.message, type: (current as { type?: string }).type });
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return found;
}

/** The kafkajs error type of an authorization refusal in `error`'s chain, if any. */
export function authorizationFailure(error: unknown): string | undefined {
  return chain(error).map((e) => e.type).find((type) => type?.endsWith("_AUTHORIZATION_FAILED"));
}

/** Whether retrying `error` is pointless: a refused login, an untrusted certificate or a missing ACL. */
export function isAccessFailure(error: unknown): boolean {
  return describeAccessFailure(error, undefined) !== undefined;
}

/**
 * One line for an access failure, or undefined for anything else (a broker down, a timeout: those are retried or
 * reported as they are). Pure.
 */
export function describeAccessFailure(error: unknown, need: AccessNeed | undefined): string | undefined {
  const errors = chain(error);
  const where = need ? ` at ${need.brokers.map((b) => `${b.host}:${b.port}`).join(",")}` : "";
  const security = need?.security;
  const user = security?.protocol === "SASL_SSL" ? `user "${security.username}"` : "this client";
  if (
    errors.some((e) => e.name === "KafkaJSSASLAuthenticationError" || /SASL .*authentication failed/i.test(e.message))
  ) {
    const mechanism = security?.protocol === "SASL_SSL" ? ` (${security.mechanism})` : "";
    return `Kafka${where} refused the login of ${user}${mechanism}: wrong password or unknown user; ` +
      `check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)`;
  }
  const tls = errors.find((e) =>
    /certificate|UnknownIssuer|self[- ]signed|unable to (get|verify)|NotValidForName|CERT_/i.test(e.message)
  );
  if (tls) {
    const ca = security?.protocol === "SASL_SSL" && security.ca
      ? `the CA in KAFKA_SSL_CA_FILE (${security.ca.file})`
      : "the system's CAs (set KAFKA_SSL_CA_FILE to the cluster's CA)";
    return `Kafka${where} presented a certificate that ${ca} does not vouch for (${firstLine(tls.message)})`;
  }
  const type = authorizationFailure(error);
  if (type) {
    const what = type === "GROUP_AUTHORIZATION_FAILED"
      ? `Read on group ${need?.group ?? "(its consumer group)"}`
      : type === "TOPIC_AUTHORIZATION_FAILED"
      ? `${need?.topic?.operation ?? "access"} on topic ${need?.topic?.name ?? "(its topic)"}`
      : type === "CLUSTER_AUTHORIZATION_FAILED"
      ? "an operation on the cluster"
      : type.toLowerCase().replaceAll("_", " ");
    return `Kafka${where} denied ${user} ${what} (${type}): its ACLs do not allow it; use the principal made for ` +
      `this task (deno task kafka start --secure prints them) or grant it`;
  }
  return undefined;
}

/**
 * An {@link AccessError} for `error` when it is one the user must fix; for a PLAINTEXT client whose connection was
 * closed, it first checks whether the broker speaks TLS, the usual reason. Undefined otherwise.
 */
export async function explainKafkaFailure(error: unknown, need: AccessNeed): Promise<AccessError | undefined> {
  const line = describeAccessFailure(error, need);
  if (line !== undefined) return new AccessError(line);
  const closed = chain(error).some((e) =>
    /Closed connection|ECONNRESET|Connection timeout|socket hang up/i.test(e.message)
  );
  if (need.security.protocol === "PLAINTEXT" && closed) {
    const broker = need.brokers[0]!;
    if (await speaksTls(broker)) {
      return new AccessError(
        `Kafka at ${broker.host}:${broker.port} speaks TLS, but KAFKA_SECURITY_PROTOCOL is PLAINTEXT: set ` +
          `KAFKA_SECURITY_PROTOCOL=SASL_SSL with KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE and KAFKA_SSL_CA_FILE`,
      );
    }
  }
  return undefined;
}

/** Whether `broker` answers a TLS handshake (with any certificate: trusting it is not the question here). */
async function speaksTls(broker: BrokerAddress): Promise<boolean> {
  let connection: Deno.TlsConn | undefined;
  try {
    connection = await Deno.connectTls({ hostname: broker.host, port: broker.port });
    await Promise.race([connection.handshake(), new Promise((_, reject) => setTimeout(reject, 3000))]);
    return true;
  } catch (error) {
    // A certificate we do not trust still proves the other side speaks TLS.
    return error instanceof Error && /certificate|UnknownIssuer|invalid peer/i.test(error.message);
  } finally {
    try {
      connection?.close();
    } catch { /* already closed */ }
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 200);
}

/**
 * Whether this principal may use consumer group `groupId`: kafkajs reports a group it may not read as "group
 * coordinator not found" from inside its consumer loop, which would crash and restart forever. A new cluster gives the
 * same answer for a few seconds, until its offsets topic exists, so it is asked again for 20 s.
 */
export async function ensureGroupAccess(
  admin: Admin,
  groupId: string,
  topic: string,
  principal: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await admin.fetchOffsets({ groupId, topics: [topic] });
      return;
    } catch (error) {
      const notFound = (error as Error).name === "KafkaJSGroupCoordinatorNotFound";
      // A coordinator moving or loading (a new cluster) answers with retriable errors: ask again too.
      if (!notFound && (error as { retriable?: boolean }).retriable !== true) throw error;
      if (Date.now() >= deadline) {
        if (notFound) break;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  throw new AccessError(
    `Kafka found no coordinator for group ${groupId} that this principal may use: its ACLs do not allow Read on ` +
      `group ${groupId} (or the cluster is still starting); use ${principal} principal or grant it`,
  );
}
