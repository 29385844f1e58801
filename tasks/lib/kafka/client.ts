/**
 * The one place that builds kafkajs clients, so every task talks to the brokers the same way.
 *
 * kafkajs reads NODE_ENV and a few KAFKAJS_* variables at import time: every task that imports this
 * module lists them in its `--allow-env` (see deno.json).
 */
import process from "node:process";
import { Kafka, type KafkaConfig, type LogEntry, logLevel, type SASLOptions } from "kafkajs";
import type { BrokerAddress, KafkaSecurity } from "../config.ts";
import { redact } from "../secrets.ts";

// kafkajs 2.2.4 schedules its throttle check with a negative delay when not throttled;
// the timer still fires at once, so the warning is noise. Every other process warning is still printed.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") console.error(`${warning.name}: ${warning.message}`);
});

/** Options beyond the broker list. */
export interface ClientOptions {
  /** Default: `crypto-pipeline`. */
  clientId?: string;
  /** Default: warnings and errors. `quiet` logs nothing (used while probing a starting broker). */
  quiet?: boolean;
  /** Milliseconds to wait for a TCP connection. Default: 3000. */
  connectionTimeout?: number;
  /** kafkajs retry policy. Default: kafkajs's own. */
  retry?: KafkaConfig["retry"];
  /** TLS and SASL login (KAFKA_SECURITY_PROTOCOL …). Default: PLAINTEXT. */
  security?: KafkaSecurity;
}

/** `host:port` strings as kafkajs expects them. */
export function brokerList(brokers: BrokerAddress[]): string[] {
  return brokers.map((broker) => `${broker.host}:${broker.port}`);
}

/** A kafkajs client whose log lines are one line each on stderr. */
export function createKafka(brokers: BrokerAddress[], options: ClientOptions = {}): Kafka {
  return new Kafka({
    clientId: options.clientId ?? "crypto-pipeline",
    brokers: brokerList(brokers),
    connectionTimeout: options.connectionTimeout ?? 3000,
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator: () => writeLogEntry,
    ...(options.retry ? { retry: options.retry } : {}),
    ...securityOptions(options.security ?? { protocol: "PLAINTEXT" }),
  });
}

/** kafkajs's `ssl` and `sasl` for a security setting: TLS that verifies the brokers' certificates, SCRAM login. */
export function securityOptions(security: KafkaSecurity): Pick<KafkaConfig, "ssl" | "sasl"> {
  if (security.protocol === "PLAINTEXT") return {};
  const password = security.password.reveal();
  const sasl: SASLOptions = security.mechanism === "SCRAM-SHA-512"
    ? { mechanism: "scram-sha-512", username: security.username, password }
    : { mechanism: "scram-sha-256", username: security.username, password };
  return {
    ssl: security.ca ? { ca: [security.ca.pem], rejectUnauthorized: true } : { rejectUnauthorized: true },
    sasl,
  };
}

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: "ERROR",
  [logLevel.WARN]: "WARN",
  [logLevel.INFO]: "INFO",
  [logLevel.DEBUG]: "DEBUG",
};

function writeLogEntry({ namespace, level, log }: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
  const detail = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
  console.error(redact(`kafkajs ${LEVEL_NAMES[level] ?? level} [${namespace}] ${message}${detail}`));
}
