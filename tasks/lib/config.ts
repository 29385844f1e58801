/**
 * Every setting the pipeline reads from the environment, parsed once at the edge of each task.
 *
 * Each task runs with `--allow-env` scoped to the names it needs, so loaders are split by concern
 * and read only their own variables. A bad value throws {@link ConfigError}, which the task runner
 * turns into one line and exit code 2.
 */
import { isMarket, type Market, marketProfile } from "./market.ts";
import { Secret, unreadableFileReason } from "./secrets.ts";

/** Anything that can look up an environment variable: `Deno.env`, or a `Map` in tests. */
export interface Env {
  get(name: string): string | undefined;
}

/** A setting whose value cannot be used; the message names the variable, its value and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly variable: string, readonly value: string, readonly expected: string) {
    super(`${variable}="${value}" is invalid: expected ${expected}`);
    this.name = "ConfigError";
  }
}

/** The documented settings: name → default and meaning. `.env.example` and the README list exactly these. */
export const SETTINGS = {
  KAFKA_BROKERS: {
    default: "localhost:9092",
    doc:
      "Comma-separated bootstrap brokers (host:port). The local broker listens on the first; its controller on port + 1.",
  },
  KAFKA_DATA_DIR: { default: "data/kafka", doc: "Where the local broker keeps its logs, config, PID and server.log." },
  KAFKA_HEAP: { default: "512m", doc: "JVM heap of each local broker (-Xmx/-Xms), e.g. 512m or 1g." },
  KAFKA_SECURITY_PROTOCOL: {
    default: "PLAINTEXT",
    doc:
      "How clients talk to the brokers: PLAINTEXT, or SASL_SSL (TLS with a SASL login; deno task kafka start --secure).",
  },
  KAFKA_SASL_MECHANISM: {
    default: "SCRAM-SHA-512",
    doc: "SASL_SSL: the login mechanism, SCRAM-SHA-512 (the local secure cluster's) or SCRAM-SHA-256.",
  },
  KAFKA_SASL_USERNAME: {
    default: "",
    doc: "SASL_SSL: the principal to log in as (local cluster: producer, consumer, admin).",
  },
  KAFKA_SASL_PASSWORD_FILE: {
    default: "",
    doc: "SASL_SSL: a file (under data/secrets/) holding the password; preferred over KAFKA_SASL_PASSWORD.",
  },
  KAFKA_SASL_PASSWORD: { default: "", doc: "SASL_SSL: the password itself, when no KAFKA_SASL_PASSWORD_FILE is set." },
  KAFKA_SSL_CA_FILE: {
    default: "",
    doc:
      "SASL_SSL: the CA (PEM, under data/secrets/) the brokers' certificates must chain to (empty: the system's CAs).",
  },
  KAFKA_SECRETS_DIR: {
    default: "data/secrets/kafka",
    doc: "deno task kafka start --secure: where the local cluster's CA, keystores and user passwords are made, once.",
  },
  KAFKA_TOPIC_PARTITIONS: {
    default: "3",
    doc: "Partitions of each market's trades and DLQ topics (crypto.trades.v1, crypto.trades.dlq.v1, …).",
  },
  KAFKA_REPLICATION_FACTOR: { default: "1", doc: "Replication factor of both topics (3 on a 3-broker cluster)." },
  KAFKA_MIN_INSYNC_REPLICAS: { default: "1", doc: "min.insync.replicas of both topics (2 on a 3-broker cluster)." },
  KAFKA_RETENTION_HOURS: { default: "168", doc: "retention.ms of crypto.trades.v1, in hours (-1 keeps forever)." },
  KAFKA_DLQ_RETENTION_HOURS: {
    default: "720",
    doc: "retention.ms of crypto.trades.dlq.v1, in hours (-1 keeps forever).",
  },
  MARKET: {
    default: "spot",
    doc:
      "The market a producer, consumer, reconcile, import or the local exchange works on: spot or usdm (USDⓈ-M futures).",
  },
  MARKETS: {
    default: "spot",
    doc: "Comma-separated markets deno task start runs a producer and a consumer for: spot, usdm or spot,usdm.",
  },
  BINANCE_WS_URL: {
    default: "wss://stream.binance.com:9443",
    doc: "Exchange WebSocket base URL (ws:// or wss://). Spot default; usdm: wss://fstream.binance.com/public.",
  },
  BINANCE_REST_URL: {
    default: "https://api.binance.com",
    doc: "Exchange REST base URL for backfill and klines. Spot default; usdm: https://fapi.binance.com.",
  },
  BINANCE_API_KEY_FILE: {
    default: "",
    doc:
      "usdm producer: a file (under data/secrets/) holding the API key for /fapi/v1/historicalTrades; preferred over BINANCE_API_KEY.",
  },
  BINANCE_API_KEY: {
    default: "",
    doc: "usdm producer: the API key itself, when no BINANCE_API_KEY_FILE is set (empty: heal from public REST only).",
  },
  SYMBOLS: { default: "BTCUSDT", doc: "Comma-separated symbols to capture, e.g. BTCUSDT,ETHUSDT (at most 1024)." },
  PRODUCER_STATE_PATH: {
    default: "data/producer/state.json",
    doc:
      "The producer's durable memory: last trade id and open gaps per symbol, and Kafka offsets. Spot default; usdm: data/producer/state-usdm.json.",
  },
  PRODUCER_COMPRESSION: { default: "gzip", doc: "Kafka batch compression of the producer: gzip or none." },
  PRODUCER_STALE_AFTER_S: {
    default: "30",
    doc: "Seconds without any frame after which the producer replaces its exchange connection.",
  },
  PRODUCER_METRICS_PORT: {
    default: "9464",
    doc:
      "Port on 127.0.0.1 where the producer serves Prometheus metrics at /metrics (0: no metrics). Spot default; usdm: 9466.",
  },
  CONSUMER_METRICS_PORT: {
    default: "9465",
    doc: "Port on 127.0.0.1 where the consumer serves Prometheus metrics at /metrics (0: no metrics).",
  },
  LOG_FORMAT: {
    default: "auto",
    doc: "Log lines of the producer and consumer: json, text, or auto (text on a terminal, JSON lines otherwise).",
  },
  LAKE_DIR: { default: "data/parquet", doc: "Root of the Hive-partitioned Parquet lake." },
  BINANCE_DATA_URL: {
    default: "https://data.binance.vision",
    doc: "deno task import: base URL of the exchange's public trade archive (daily and monthly zips, .CHECKSUM).",
  },
  ARCHIVE_CACHE_DIR: {
    default: "data/archive",
    doc: "deno task import: where archive zips are downloaded (verified, then kept; delete to reclaim space).",
  },
  DUCKDB_PATH: { default: "data/duckdb/crypto.duckdb", doc: "DuckDB database file holding the marts." },
  HEALTH_STALE_AFTER_S: {
    default: "60",
    doc: "fct_pipeline_health_5m: a pair with no trade for this many seconds is 'stale'.",
  },
  ALERT_DLQ_PER_5M: {
    default: "10",
    doc: "An alert opens when a pair has more dead-letter events than this in a 5-minute window.",
  },
  ALERT_WEBHOOK_URL_FILE: {
    default: "",
    doc:
      "A file (under data/secrets/) holding ALERT_WEBHOOK_URL, which often carries a token; preferred over the variable.",
  },
  ALERT_WEBHOOK_URL: {
    default: "",
    doc: "deno task notify POSTs each alert opening and resolution here as JSON (empty: no webhook). Never printed.",
  },
  HEALTH_WARN_LATENCY_MS: {
    default: "2000",
    doc: "fct_pipeline_health_5m: a pair whose p99 ingest latency in the window exceeds this is 'warn'.",
  },
  REFRESH_EVERY: {
    default: "5m",
    doc: "How often the live pipeline (deno task start) runs refresh: a duration such as 30s, 5m or 1h.",
  },
  RUN_DIR: {
    default: "data/run",
    doc: "Where the live pipeline's supervisor keeps supervisor.json (PIDs, restarts, last refresh) and its log.",
  },
  LIVE_REPORT: {
    default: "1",
    doc:
      "1: the live pipeline rebuilds reports/latest.html after each refresh (deno task dashboard serves it); 0: not.",
  },
  REPORT_KEEP: {
    default: "0",
    doc: "How many timestamped report pages deno task report keeps beside latest.html (0: all).",
  },
  DASHBOARD_PORT: {
    default: "8765",
    doc: "The port deno task dashboard serves reports/latest.html on, at 127.0.0.1.",
  },
  DASHBOARD_STALE_AFTER_S: {
    default: "900",
    doc: "Seconds after the marts' last refresh at which the dashboard turns visibly stale.",
  },
  NOTEBOOK_PAIR: {
    default: "",
    doc: "The pair the notebooks and the report show first (empty: the pair with the most trades in the window).",
  },
  NOTEBOOK_MARKET: {
    default: "",
    doc: "The market of the pair the notebooks chart: spot or usdm (empty: spot, else the market that traded).",
  },
  NOTEBOOK_WINDOW_MINUTES: {
    default: "60",
    doc: "How many minutes the notebooks and the report show, up to the latest data.",
  },
} as const satisfies Record<string, { default: string; doc: string }>;

/** The name of a documented setting. */
export type SettingName = keyof typeof SETTINGS;

/** One broker address. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** Where the brokers are, how clients log in to them, and how the local ones run. */
export interface KafkaConfig {
  brokers: BrokerAddress[];
  security: KafkaSecurity;
  dataDir: string;
  heap: string;
  /** Where `kafka start --secure` keeps the local cluster's CA, keystores and passwords. */
  secretsDir: string;
}

/** The SASL mechanisms the clients speak (kafkajs's SCRAM). */
export type SaslMechanism = "SCRAM-SHA-512" | "SCRAM-SHA-256";

/** How clients talk to the brokers: in the clear, or TLS with a SASL login. */
export type KafkaSecurity =
  | { protocol: "PLAINTEXT" }
  | {
    protocol: "SASL_SSL";
    mechanism: SaslMechanism;
    username: string;
    password: Secret;
    /** PEM of the CA to trust, and where it came from; undefined: the system's CAs. */
    ca?: { pem: string; file: string };
  };

/** How the pipeline's topics are created. */
export interface TopicConfig {
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  retentionHours: number;
  dlqRetentionHours: number;
}

/** Where the exchange is and what to capture from it. */
export interface ExchangeConfig {
  /** The market captured (MARKET); URL defaults follow it. */
  market: Market;
  wsUrl: URL;
  restUrl: URL;
  symbols: string[];
}

/** How the producer runs. */
export interface ProducerConfig {
  statePath: string;
  compression: "gzip" | "none";
  staleAfterMs: number;
}

/** Where data rests. */
export interface StorageConfig {
  lakeDir: string;
  duckdbPath: string;
}

/** Reads KAFKA_BROKERS, the KAFKA_SECURITY_PROTOCOL/SASL/SSL settings, KAFKA_DATA_DIR, KAFKA_HEAP and KAFKA_SECRETS_DIR. */
export function loadKafkaConfig(env: Env, readTextFile: (path: string) => string = Deno.readTextFileSync): KafkaConfig {
  return {
    brokers: parseBrokers("KAFKA_BROKERS", read(env, "KAFKA_BROKERS")),
    security: loadKafkaSecurity(env, readTextFile),
    dataDir: parsePath("KAFKA_DATA_DIR", read(env, "KAFKA_DATA_DIR")),
    heap: parseHeap("KAFKA_HEAP", read(env, "KAFKA_HEAP")),
    secretsDir: parsePath("KAFKA_SECRETS_DIR", read(env, "KAFKA_SECRETS_DIR")),
  };
}

/**
 * Reads KAFKA_SECURITY_PROTOCOL and, for SASL_SSL, the mechanism, the user, the password (KAFKA_SASL_PASSWORD_FILE
 * preferred) and the CA file. The SASL and SSL settings are not read at all for PLAINTEXT.
 */
export function loadKafkaSecurity(
  env: Env,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): KafkaSecurity {
  const protocol = read(env, "KAFKA_SECURITY_PROTOCOL").toUpperCase();
  if (protocol === "PLAINTEXT") return { protocol };
  if (protocol !== "SASL_SSL") {
    throw new ConfigError("KAFKA_SECURITY_PROTOCOL", read(env, "KAFKA_SECURITY_PROTOCOL"), "PLAINTEXT or SASL_SSL");
  }
  const mechanism = read(env, "KAFKA_SASL_MECHANISM").toUpperCase();
  if (mechanism !== "SCRAM-SHA-512" && mechanism !== "SCRAM-SHA-256") {
    throw new ConfigError(
      "KAFKA_SASL_MECHANISM",
      read(env, "KAFKA_SASL_MECHANISM"),
      "SCRAM-SHA-512 or SCRAM-SHA-256 (the mechanisms the pipeline's Kafka client supports)",
    );
  }
  const username = read(env, "KAFKA_SASL_USERNAME");
  if (username === "") {
    throw new ConfigError("KAFKA_SASL_USERNAME", "", "the user to log in as, which SASL_SSL needs");
  }
  const password = readSecretSetting(
    env,
    "KAFKA_SASL_PASSWORD_FILE",
    "KAFKA_SASL_PASSWORD",
    "the password",
    readTextFile,
  );
  if (password === undefined) {
    throw new ConfigError(
      "KAFKA_SASL_PASSWORD_FILE",
      "",
      `a file holding the password of ${username} (or KAFKA_SASL_PASSWORD), which SASL_SSL needs`,
    );
  }
  const caFile = read(env, "KAFKA_SSL_CA_FILE");
  if (caFile === "") return { protocol, mechanism, username, password };
  const pem = readSettingFile("KAFKA_SSL_CA_FILE", caFile, "the CA certificate (PEM)", readTextFile);
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
    throw new ConfigError("KAFKA_SSL_CA_FILE", caFile, "a PEM file holding the CA certificate, but it holds none");
  }
  return { protocol, mechanism, username, password, ca: { pem, file: caFile } };
}

/** Reads the KAFKA_TOPIC_* settings and checks they fit together. */
export function loadTopicConfig(env: Env): TopicConfig {
  const config = {
    partitions: parseInteger("KAFKA_TOPIC_PARTITIONS", read(env, "KAFKA_TOPIC_PARTITIONS"), 1, 10_000),
    replicationFactor: parseInteger("KAFKA_REPLICATION_FACTOR", read(env, "KAFKA_REPLICATION_FACTOR"), 1, 32),
    minInsyncReplicas: parseInteger("KAFKA_MIN_INSYNC_REPLICAS", read(env, "KAFKA_MIN_INSYNC_REPLICAS"), 1, 32),
    retentionHours: parseRetention("KAFKA_RETENTION_HOURS", read(env, "KAFKA_RETENTION_HOURS")),
    dlqRetentionHours: parseRetention("KAFKA_DLQ_RETENTION_HOURS", read(env, "KAFKA_DLQ_RETENTION_HOURS")),
  };
  if (config.minInsyncReplicas > config.replicationFactor) {
    throw new ConfigError(
      "KAFKA_MIN_INSYNC_REPLICAS",
      String(config.minInsyncReplicas),
      `a number no larger than KAFKA_REPLICATION_FACTOR (${config.replicationFactor})`,
    );
  }
  return config;
}

/** Reads MARKET: `spot` (the default) or `usdm`. */
export function loadMarket(env: Env): Market {
  const value = read(env, "MARKET");
  const market = value.toLowerCase();
  if (!isMarket(market)) throw new ConfigError("MARKET", value, "spot or usdm (USDⓈ-M futures)");
  return market;
}

/** Reads MARKETS: one or more of `spot`, `usdm`, comma-separated, without repeats. */
export function loadMarkets(env: Env): Market[] {
  const value = read(env, "MARKETS");
  const markets = [...new Set(value.split(",").map((m) => m.trim().toLowerCase()).filter((m) => m !== ""))];
  if (markets.length === 0 || !markets.every(isMarket)) {
    throw new ConfigError("MARKETS", value, "spot, usdm or spot,usdm");
  }
  return markets;
}

/** Reads MARKET, BINANCE_WS_URL, BINANCE_REST_URL and SYMBOLS; unset URLs default to the market's. */
export function loadExchangeConfig(env: Env): ExchangeConfig {
  const market = loadMarket(env);
  const profile = marketProfile(market);
  return {
    market,
    wsUrl: parseUrl("BINANCE_WS_URL", readOr(env, "BINANCE_WS_URL", profile.wsUrl), ["ws:", "wss:"]),
    restUrl: parseUrl("BINANCE_REST_URL", readOr(env, "BINANCE_REST_URL", profile.restUrl), ["http:", "https:"]),
    symbols: parseSymbols("SYMBOLS", read(env, "SYMBOLS")),
  };
}

/**
 * Reads the futures API key: the trimmed content of BINANCE_API_KEY_FILE when set (a missing, unreadable or empty
 * file fails fast), else BINANCE_API_KEY; undefined when neither is set. The key never appears in an error: they
 * name the variable and the path only.
 */
export function loadApiKey(
  env: Env,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): string | undefined {
  return readSecretSetting(env, "BINANCE_API_KEY_FILE", "BINANCE_API_KEY", "the API key", readTextFile)?.reveal();
}

/** Reads MARKET, PRODUCER_STATE_PATH, PRODUCER_COMPRESSION and PRODUCER_STALE_AFTER_S; the state path defaults per market. */
export function loadProducerConfig(env: Env): ProducerConfig {
  const compression = read(env, "PRODUCER_COMPRESSION");
  if (compression !== "gzip" && compression !== "none") {
    throw new ConfigError("PRODUCER_COMPRESSION", compression, "gzip or none");
  }
  const profile = marketProfile(loadMarket(env));
  return {
    statePath: parsePath("PRODUCER_STATE_PATH", readOr(env, "PRODUCER_STATE_PATH", profile.defaultStatePath)),
    compression,
    staleAfterMs: parseInteger("PRODUCER_STALE_AFTER_S", read(env, "PRODUCER_STALE_AFTER_S"), 1, 3600) * 1000,
  };
}

/** Reads LAKE_DIR and DUCKDB_PATH. */
export function loadStorageConfig(env: Env): StorageConfig {
  return {
    lakeDir: parsePath("LAKE_DIR", read(env, "LAKE_DIR")),
    duckdbPath: parsePath("DUCKDB_PATH", read(env, "DUCKDB_PATH")),
  };
}

/** What the marts' health status and the alerts are judged by. */
export interface HealthThresholds {
  staleAfterSeconds: number;
  warnLatencyMs: number;
  alertDlqPer5m: number;
}

/** Reads HEALTH_STALE_AFTER_S, HEALTH_WARN_LATENCY_MS and ALERT_DLQ_PER_5M. */
export function loadHealthThresholds(env: Env): HealthThresholds {
  return {
    staleAfterSeconds: parseInteger("HEALTH_STALE_AFTER_S", read(env, "HEALTH_STALE_AFTER_S"), 1, 86_400),
    warnLatencyMs: parseInteger("HEALTH_WARN_LATENCY_MS", read(env, "HEALTH_WARN_LATENCY_MS"), 1, 3_600_000),
    alertDlqPer5m: parseInteger("ALERT_DLQ_PER_5M", read(env, "ALERT_DLQ_PER_5M"), 0, 1_000_000),
  };
}

/**
 * Reads ALERT_WEBHOOK_URL_FILE (preferred) or ALERT_WEBHOOK_URL; undefined when neither is set. The URL often carries
 * a token, so it stays a {@link Secret} and an invalid one is never quoted back.
 */
export function loadAlertWebhook(
  env: Env,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): Secret | undefined {
  const value = readSecretSetting(env, "ALERT_WEBHOOK_URL_FILE", "ALERT_WEBHOOK_URL", "the webhook URL", readTextFile);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value.reveal());
  } catch {
    // reported below, without the value
  }
  if (url === undefined || !["http:", "https:"].includes(url.protocol)) {
    const source = read(env, "ALERT_WEBHOOK_URL_FILE") !== "" ? "ALERT_WEBHOOK_URL_FILE" : "ALERT_WEBHOOK_URL";
    throw new ConfigError(source, "[redacted]", "an http:// or https:// URL");
  }
  return value;
}

/**
 * A secret from `fileName` (trimmed content; preferred) or else from `variableName`; undefined when neither is set.
 * A missing, unreadable or empty file fails with a line naming the variable and the path, never the content.
 */
export function readSecretSetting(
  env: Env,
  fileName: SettingName,
  variableName: SettingName,
  what: string,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): Secret | undefined {
  const path = read(env, fileName);
  if (path !== "") return new Secret(readSettingFile(fileName, path, what, readTextFile).trim());
  const value = read(env, variableName);
  return value === "" ? undefined : new Secret(value);
}

/** The content of the file a setting names; a missing, unreadable or empty one fails with one line. */
function readSettingFile(
  name: SettingName,
  path: string,
  what: string,
  readTextFile: (path: string) => string,
): string {
  parsePath(name, path);
  let content: string;
  try {
    content = readTextFile(path);
  } catch (error) {
    throw new ConfigError(name, path, `a readable file holding ${what}, but ${unreadableFileReason(error)}`);
  }
  if (content.trim() === "") throw new ConfigError(name, path, `a file holding ${what}, but it is empty`);
  return content;
}

/** Reads LOG_FORMAT: `auto`, `json` or `text`. */
export function loadLogFormat(env: Env): "auto" | "json" | "text" {
  const value = read(env, "LOG_FORMAT");
  const format = value.toLowerCase();
  if (format !== "auto" && format !== "json" && format !== "text") {
    throw new ConfigError("LOG_FORMAT", value, "auto, json or text");
  }
  return format;
}

/**
 * Reads PRODUCER_METRICS_PORT or CONSUMER_METRICS_PORT; undefined when it is 0 (metrics off). Given a market, an
 * unset port defaults to that market's, so a spot and a usdm process can run side by side.
 */
export function loadMetricsPort(
  env: Env,
  name: "PRODUCER_METRICS_PORT" | "CONSUMER_METRICS_PORT",
  market?: Market,
): number | undefined {
  const profile = market === undefined ? undefined : marketProfile(market);
  const fallback = profile === undefined ? SETTINGS[name].default : String(
    name === "PRODUCER_METRICS_PORT" ? profile.defaultProducerMetricsPort : profile.defaultConsumerMetricsPort,
  );
  const port = parseInteger(name, readOr(env, name, fallback), 0, 65535);
  return port === 0 ? undefined : port;
}

/** How the live pipeline is supervised. */
export interface SupervisorConfig {
  runDir: string;
  refreshEveryMs: number;
}

/** Reads RUN_DIR and REFRESH_EVERY. */
export function loadSupervisorConfig(env: Env): SupervisorConfig {
  return {
    runDir: parsePath("RUN_DIR", read(env, "RUN_DIR")),
    refreshEveryMs: parseDuration("REFRESH_EVERY", read(env, "REFRESH_EVERY"), 1000, 86_400_000),
  };
}

/** The users the pipeline's tasks log in to Kafka as (those `kafka start --secure` makes, with their ACLs). */
export type KafkaRole = "admin" | "producer" | "consumer";

/** How the supervisor's tasks log in to Kafka. */
export interface SupervisedLogins {
  /** SASL_SSL. */
  secure: boolean;
  /** What each role's task adds to its environment (nothing under PLAINTEXT). */
  env: Record<KafkaRole, Record<string, string>>;
}

/**
 * How `deno task start` logs its tasks in. SASL_SSL: the producer as `producer`, the consumer as `consumer` and
 * `topics` (--with-kafka) as `admin`, each with its own password file `KAFKA_SECRETS_DIR/<user>.password`, so no
 * component holds another's rights. One KAFKA_SASL_USERNAME or password for all would defeat that, so those are
 * refused here with a line saying so.
 */
export function loadSupervisedLogins(env: Env): SupervisedLogins {
  const protocol = read(env, "KAFKA_SECURITY_PROTOCOL").toUpperCase();
  if (protocol === "PLAINTEXT") return { secure: false, env: { admin: {}, producer: {}, consumer: {} } };
  if (protocol !== "SASL_SSL") {
    throw new ConfigError("KAFKA_SECURITY_PROTOCOL", read(env, "KAFKA_SECURITY_PROTOCOL"), "PLAINTEXT or SASL_SSL");
  }
  for (const name of ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD_FILE", "KAFKA_SASL_PASSWORD"] as const) {
    const value = read(env, name);
    if (value === "") continue;
    throw new ConfigError(
      name,
      name === "KAFKA_SASL_PASSWORD" ? "[redacted]" : value,
      'unset under deno task start: the producer logs in as "producer" and the consumer as "consumer", each ' +
        "with its own password file KAFKA_SECRETS_DIR/<user>.password",
    );
  }
  const secretsDir = parsePath("KAFKA_SECRETS_DIR", read(env, "KAFKA_SECRETS_DIR")).replace(/\/+$/, "");
  const login = (user: KafkaRole) => ({
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: `${secretsDir}/${user}.password`,
  });
  return { secure: true, env: { admin: login("admin"), producer: login("producer"), consumer: login("consumer") } };
}

/** Reads LIVE_REPORT: whether the supervisor rebuilds the report after each refresh. */
export function loadLiveReport(env: Env): boolean {
  const value = read(env, "LIVE_REPORT");
  if (value !== "0" && value !== "1") throw new ConfigError("LIVE_REPORT", value, "1 or 0");
  return value === "1";
}

/** What `deno task dashboard` serves. */
export interface DashboardConfig {
  port: number;
  staleAfterSeconds: number;
}

/** Reads DASHBOARD_PORT and DASHBOARD_STALE_AFTER_S. */
export function loadDashboardConfig(env: Env): DashboardConfig {
  return {
    port: parseWhole("DASHBOARD_PORT", read(env, "DASHBOARD_PORT"), 1, 65535, "a port from 1 to 65535"),
    staleAfterSeconds: parseWhole(
      "DASHBOARD_STALE_AFTER_S",
      read(env, "DASHBOARD_STALE_AFTER_S"),
      10,
      86_400,
      "whole seconds from 10 to 86400",
    ),
  };
}

/** Reads REPORT_KEEP: how many timestamped report pages to keep (0: all). */
export function loadReportKeep(env: Env): number {
  return parseWhole("REPORT_KEEP", read(env, "REPORT_KEEP"), 0, 100_000, "a whole number (0 keeps every page)");
}

function parseWhole(name: SettingName, value: string, min: number, max: number, expected: string): number {
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(name, value, expected);
  return n;
}

function read(env: Env, name: SettingName): string {
  return readOr(env, name, SETTINGS[name].default);
}

/** The variable's value, or `fallback` when it is unset or blank (for defaults that depend on another setting). */
function readOr(env: Env, name: SettingName, fallback: string): string {
  const value = env.get(name)?.trim();
  return value === undefined || value === "" ? fallback : value;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses `host:port[,host:port…]`; IPv6 literals are not accepted because kafkajs cannot take them unbracketed. */
export function parseBrokers(name: string, value: string): BrokerAddress[] {
  const expected = "comma-separated host:port pairs such as localhost:9092";
  const brokers = value.split(",").map((item) => item.trim()).filter((item) => item !== "").map((item) => {
    const match = /^([^:]+):(\d{1,5})$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || !HOST.test(match[1]!) || port < 1 || port > 65535) throw new ConfigError(name, value, expected);
    return { host: match[1]!, port };
  });
  if (brokers.length === 0) throw new ConfigError(name, value, expected);
  return brokers;
}

/** Parses a whole number within [min, max]. */
export function parseInteger(name: string, value: string, min: number, max: number): number {
  const number = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new ConfigError(name, value, `a whole number from ${min} to ${max}`);
  }
  return number;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration such as `30s`, `5m`, `1h` or `250ms` (a bare number is seconds) into ms within [min, max]. */
export function parseDuration(name: string, value: string, minMs: number, maxMs: number): number {
  const match = /^(\d{1,9})\s*(ms|s|m|h)?$/.exec(value);
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] ?? "s"]! : NaN;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new ConfigError(
      name,
      value,
      `a duration from ${minMs / 1000}s to ${maxMs / 3_600_000}h such as 30s, 5m or 1h`,
    );
  }
  return ms;
}

function parseRetention(name: string, value: string): number {
  if (value === "-1") return -1;
  return parseInteger(name, value, 1, 876_000); // up to 100 years; -1 means forever
}

/** Parses an absolute URL whose scheme is one of `protocols`. */
export function parseUrl(name: string, value: string, protocols: string[]): URL {
  const expected = `a ${protocols.map((p) => p.replace(":", "://")).join(" or ")} URL`;
  if (!URL.canParse(value)) throw new ConfigError(name, value, expected);
  const url = new URL(value);
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, value, expected);
  return url;
}

/** Parses a comma-separated list of exchange symbols into upper case, without repeats. */
export function parseSymbols(name: string, value: string): string[] {
  const symbols = [...new Set(value.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== ""))];
  if (symbols.length === 0 || symbols.length > 1024 || !symbols.every((s) => /^[A-Z0-9]{2,20}$/.test(s))) {
    throw new ConfigError(
      name,
      value,
      "1 to 1024 comma-separated symbols of 2-20 letters or digits, e.g. BTCUSDT,ETHUSDT",
    );
  }
  return symbols;
}

/** A path setting: any text without a NUL. */
export function parsePath(name: string, value: string): string {
  if (value.includes("\0")) throw new ConfigError(name, value, "a file system path");
  return value;
}

function parseHeap(name: string, value: string): string {
  if (!/^\d{1,6}[mMgG]$/.test(value)) throw new ConfigError(name, value, "a JVM heap size such as 512m or 1g");
  return value.toLowerCase();
}
