import assert from "node:assert/strict";
import {
  ConfigError,
  loadAlertWebhook,
  loadApiKey,
  loadExchangeConfig,
  loadKafkaConfig,
  loadKafkaSecurity,
  loadMetricsPort,
  loadProducerConfig,
  loadStorageConfig,
  loadSupervisedLogins,
  loadSupervisorConfig,
  loadTopicConfig,
  parseBrokers,
  parseSymbols,
  SETTINGS,
} from "../../../tasks/lib/config.ts";
import { PROJECT_ROOT } from "../../../tasks/lib/paths.ts";

const env = (values: Record<string, string> = {}) => new Map(Object.entries(values));

Deno.test("loaders return the documented defaults when nothing is set", () => {
  assert.deepEqual(loadKafkaConfig(env()), {
    brokers: [{ host: "localhost", port: 9092 }],
    security: { protocol: "PLAINTEXT" },
    dataDir: "data/kafka",
    heap: "512m",
    secretsDir: "data/secrets/kafka",
  });
  assert.deepEqual(loadTopicConfig(env()), {
    partitions: 3,
    replicationFactor: 1,
    minInsyncReplicas: 1,
    retentionHours: 168,
    dlqRetentionHours: 720,
  });
  const exchange = loadExchangeConfig(env());
  assert.equal(exchange.wsUrl.href, "wss://stream.binance.com:9443/");
  assert.equal(exchange.restUrl.href, "https://api.binance.com/");
  assert.deepEqual(exchange.symbols, ["BTCUSDT"]);
  assert.deepEqual(loadStorageConfig(env()), { lakeDir: "data/parquet", duckdbPath: "data/duckdb/crypto.duckdb" });
});

Deno.test("loaders treat an empty or blank variable as unset", () => {
  assert.equal(loadKafkaConfig(env({ KAFKA_BROKERS: "  " })).brokers[0]?.port, 9092);
});

Deno.test("parseBrokers() reads several brokers and trims spaces", () => {
  assert.deepEqual(parseBrokers("KAFKA_BROKERS", "localhost:9092, 127.0.0.1:9094 ,kafka-1.internal:19092"), [
    { host: "localhost", port: 9092 },
    { host: "127.0.0.1", port: 9094 },
    { host: "kafka-1.internal", port: 19092 },
  ]);
});

Deno.test("parseBrokers() rejects what kafkajs could not dial", () => {
  for (const value of ["localhost", "localhost:0", "localhost:70000", ":9092", "a b:9092", ",", "http://x:9092"]) {
    assert.throws(() => parseBrokers("KAFKA_BROKERS", value), ConfigError, value);
  }
});

Deno.test("parseSymbols() upper-cases, drops repeats, and refuses path tricks", () => {
  assert.deepEqual(parseSymbols("SYMBOLS", "btcusdt, ETHUSDT,btcusdt"), ["BTCUSDT", "ETHUSDT"]);
  for (const value of ["../../x", "BTC/USDT", "BTC-USDT", "", "X"]) {
    assert.throws(() => parseSymbols("SYMBOLS", value), ConfigError, value);
  }
  assert.throws(() => parseSymbols("SYMBOLS", Array.from({ length: 1025 }, (_, i) => `S${i}USDT`).join(",")));
});

Deno.test("ConfigError names the variable, the value and what is allowed", () => {
  assert.throws(() => loadTopicConfig(env({ KAFKA_TOPIC_PARTITIONS: "three" })), {
    name: "ConfigError",
    message: 'KAFKA_TOPIC_PARTITIONS="three" is invalid: expected a whole number from 1 to 10000',
  });
  assert.throws(() => loadExchangeConfig(env({ BINANCE_WS_URL: "https://x" })), {
    message: 'BINANCE_WS_URL="https://x" is invalid: expected a ws:// or wss:// URL',
  });
  assert.throws(() => loadKafkaConfig(env({ KAFKA_HEAP: "lots" })), {
    message: 'KAFKA_HEAP="lots" is invalid: expected a JVM heap size such as 512m or 1g',
  });
});

Deno.test("loadTopicConfig() refuses min.insync.replicas above the replication factor", () => {
  assert.throws(() => loadTopicConfig(env({ KAFKA_REPLICATION_FACTOR: "1", KAFKA_MIN_INSYNC_REPLICAS: "2" })), {
    message: 'KAFKA_MIN_INSYNC_REPLICAS="2" is invalid: expected a number no larger than KAFKA_REPLICATION_FACTOR (1)',
  });
  assert.equal(
    loadTopicConfig(env({ KAFKA_REPLICATION_FACTOR: "3", KAFKA_MIN_INSYNC_REPLICAS: "2" })).minInsyncReplicas,
    2,
  );
});

Deno.test(".env.example documents every setting with its default", { permissions: { read: [PROJECT_ROOT] } }, () => {
  const example = Deno.readTextFileSync(`${PROJECT_ROOT}/.env.example`);
  for (const [name, setting] of Object.entries(SETTINGS)) {
    assert.match(
      example,
      new RegExp(`^# ?${name}=${setting.default.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"),
      name,
    );
  }
});

Deno.test("loadSupervisorConfig() reads REFRESH_EVERY as a duration and refuses one it cannot use", () => {
  assert.deepEqual(loadSupervisorConfig(env()), { runDir: "data/run", refreshEveryMs: 300_000 });
  for (const [value, ms] of [["30s", 30_000], ["5m", 300_000], ["1h", 3_600_000], ["90", 90_000], ["1500ms", 1500]]) {
    assert.equal(loadSupervisorConfig(env({ REFRESH_EVERY: String(value) })).refreshEveryMs, ms, String(value));
  }
  for (const value of ["0s", "500ms", "25h", "5 minutes", "-5m", "1.5m"]) {
    assert.throws(
      () => loadSupervisorConfig(env({ REFRESH_EVERY: value })),
      (error: unknown) => error instanceof ConfigError && error.variable === "REFRESH_EVERY",
      value,
    );
  }
});

Deno.test("loadMetricsPort() reads the port, 0 meaning no metrics, and refuses one that cannot be", () => {
  assert.equal(loadMetricsPort(env(), "PRODUCER_METRICS_PORT"), 9464);
  assert.equal(loadMetricsPort(env(), "CONSUMER_METRICS_PORT"), 9465);
  assert.equal(loadMetricsPort(env({ CONSUMER_METRICS_PORT: "19465" }), "CONSUMER_METRICS_PORT"), 19465);
  assert.equal(loadMetricsPort(env({ PRODUCER_METRICS_PORT: "0" }), "PRODUCER_METRICS_PORT"), undefined);
  assert.throws(() => loadMetricsPort(env({ PRODUCER_METRICS_PORT: "70000" }), "PRODUCER_METRICS_PORT"), {
    message: 'PRODUCER_METRICS_PORT="70000" is invalid: expected a whole number from 0 to 65535',
  });
});

Deno.test("MARKET=usdm: URLs, state path and metrics port default to the futures profile; set values win", () => {
  const spot = loadExchangeConfig(env());
  assert.equal(spot.market, "spot");
  const usdm = loadExchangeConfig(env({ MARKET: "usdm" }));
  assert.equal(usdm.market, "usdm");
  assert.equal(usdm.wsUrl.href, "wss://fstream.binance.com/public");
  assert.equal(usdm.restUrl.href, "https://fapi.binance.com/");
  const local = loadExchangeConfig(env({ MARKET: "usdm", BINANCE_WS_URL: "ws://127.0.0.1:1" }));
  assert.equal(local.wsUrl.href, "ws://127.0.0.1:1/");
  assert.equal(loadProducerConfig(env()).statePath, "data/producer/state.json");
  assert.equal(loadProducerConfig(env({ MARKET: "usdm" })).statePath, "data/producer/state-usdm.json");
  assert.equal(
    loadProducerConfig(env({ MARKET: "usdm", PRODUCER_STATE_PATH: "data/producer/x.json" })).statePath,
    "data/producer/x.json",
  );
  assert.equal(loadMetricsPort(env(), "PRODUCER_METRICS_PORT", "spot"), 9464);
  assert.equal(loadMetricsPort(env(), "PRODUCER_METRICS_PORT", "usdm"), 9466);
  assert.equal(loadMetricsPort(env({ PRODUCER_METRICS_PORT: "0" }), "PRODUCER_METRICS_PORT", "usdm"), undefined);
  assert.throws(() => loadExchangeConfig(env({ MARKET: "coinm" })), { message: /^MARKET="coinm" is invalid/ });
});

Deno.test("loadApiKey() prefers the trimmed key file and fails fast naming the path, never the key", () => {
  const files = new Map([["data/secrets/key", " abc123\n"], ["data/secrets/empty", "\n"]]);
  const read = (path: string) => {
    const text = files.get(path);
    if (text === undefined) throw new Deno.errors.NotFound(path);
    return text;
  };
  assert.equal(loadApiKey(env(), read), undefined);
  assert.equal(loadApiKey(env({ BINANCE_API_KEY: "fromenv" }), read), "fromenv");
  assert.equal(
    loadApiKey(env({ BINANCE_API_KEY_FILE: "data/secrets/key", BINANCE_API_KEY: "fromenv" }), read),
    "abc123",
  );
  assert.throws(() => loadApiKey(env({ BINANCE_API_KEY_FILE: "data/secrets/missing" }), read), {
    name: "ConfigError",
    message:
      'BINANCE_API_KEY_FILE="data/secrets/missing" is invalid: expected a readable file holding the API key, but it does not exist',
  });
  assert.throws(() => loadApiKey(env({ BINANCE_API_KEY_FILE: "data/secrets/empty" }), read), {
    message: /^BINANCE_API_KEY_FILE="data\/secrets\/empty" is invalid: .*it is empty$/,
  });
  const denied = () => {
    throw new Deno.errors.NotCapable('Requires read access to "/etc/key"');
  };
  assert.throws(() => loadApiKey(env({ BINANCE_API_KEY_FILE: "/etc/key" }), denied), {
    message: /^BINANCE_API_KEY_FILE="\/etc\/key" is invalid: .*keep it under data\/secrets\/\)$/,
  });
});

Deno.test("loadKafkaSecurity(): SASL_SSL with the password file preferred, the CA read; one line for each mistake", () => {
  const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const files = new Map([
    ["data/secrets/producer.password", "file-password-123\n"],
    ["data/secrets/ca.pem", ca],
    ["data/secrets/not-a-ca.pem", "hello\n"],
  ]);
  const read = (path: string) => {
    const text = files.get(path);
    if (text === undefined) throw new Deno.errors.NotFound(path);
    return text;
  };
  const secure = (values: Record<string, string>) =>
    loadKafkaSecurity(env({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL", KAFKA_SASL_USERNAME: "producer", ...values }), read);
  assert.deepEqual(loadKafkaSecurity(env({ KAFKA_SASL_PASSWORD: "ignored" }), read), { protocol: "PLAINTEXT" });

  const security = secure({
    KAFKA_SASL_PASSWORD_FILE: "data/secrets/producer.password",
    KAFKA_SASL_PASSWORD: "variable-password",
    KAFKA_SSL_CA_FILE: "data/secrets/ca.pem",
  });
  assert.equal(security.protocol, "SASL_SSL");
  if (security.protocol !== "SASL_SSL") return;
  assert.equal(security.mechanism, "SCRAM-SHA-512");
  assert.equal(security.password.reveal(), "file-password-123");
  assert.deepEqual(security.ca, { pem: ca, file: "data/secrets/ca.pem" });
  // The password never shows, however the config is printed.
  assert.ok(!JSON.stringify(security).includes("file-password-123"));
  assert.ok(!Deno.inspect(security).includes("file-password-123"));
  assert.ok(!`${security.password}`.includes("file-password-123"));

  const fromVariable = secure({ KAFKA_SASL_PASSWORD: "variable-password", KAFKA_SASL_MECHANISM: "scram-sha-256" });
  assert.ok(fromVariable.protocol === "SASL_SSL" && fromVariable.password.reveal() === "variable-password");
  assert.ok(fromVariable.protocol === "SASL_SSL" && fromVariable.mechanism === "SCRAM-SHA-256");

  const fails = (values: Record<string, string>, message: RegExp) =>
    assert.throws(() => secure(values), { name: "ConfigError", message });
  fails(
    { KAFKA_SECURITY_PROTOCOL: "SSL" },
    /^KAFKA_SECURITY_PROTOCOL="SSL" is invalid: expected PLAINTEXT or SASL_SSL$/,
  );
  fails(
    { KAFKA_SASL_MECHANISM: "GSSAPI", KAFKA_SASL_PASSWORD: "x" },
    /^KAFKA_SASL_MECHANISM="GSSAPI" is invalid: expected SCRAM-SHA-512 or SCRAM-SHA-256/,
  );
  fails({ KAFKA_SASL_USERNAME: "" }, /^KAFKA_SASL_USERNAME="" is invalid: expected the user to log in as/);
  fails({}, /^KAFKA_SASL_PASSWORD_FILE="" is invalid: expected a file holding the password of producer/);
  fails(
    { KAFKA_SASL_PASSWORD_FILE: "data/secrets/missing" },
    /^KAFKA_SASL_PASSWORD_FILE="data\/secrets\/missing" is invalid: .* but it does not exist$/,
  );
  fails(
    { KAFKA_SASL_PASSWORD: "x", KAFKA_SSL_CA_FILE: "data/secrets/not-a-ca.pem" },
    /^KAFKA_SSL_CA_FILE="data\/secrets\/not-a-ca.pem" is invalid: .*but it holds none$/,
  );
  fails(
    { KAFKA_SASL_PASSWORD: "x", KAFKA_SSL_CA_FILE: "data/secrets/gone.pem" },
    /^KAFKA_SSL_CA_FILE="data\/secrets\/gone.pem" is invalid: .*but it does not exist$/,
  );
});

Deno.test("loadSupervisedLogins(): under SASL_SSL each role its own user and password file; a shared login refused", () => {
  assert.deepEqual(loadSupervisedLogins(env({})), { secure: false, env: { admin: {}, producer: {}, consumer: {} } });
  const secure = loadSupervisedLogins(env({ KAFKA_SECURITY_PROTOCOL: "sasl_ssl" }));
  assert.equal(secure.secure, true);
  assert.deepEqual(secure.env.producer, {
    KAFKA_SASL_USERNAME: "producer",
    KAFKA_SASL_PASSWORD_FILE: "data/secrets/kafka/producer.password",
  });
  assert.equal(secure.env.consumer.KAFKA_SASL_USERNAME, "consumer");
  assert.equal(secure.env.admin.KAFKA_SASL_PASSWORD_FILE, "data/secrets/kafka/admin.password");
  const fails = (values: Record<string, string>, message: RegExp) =>
    assert.throws(() => loadSupervisedLogins(env({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL", ...values })), {
      name: "ConfigError",
      message,
    });
  fails({ KAFKA_SASL_USERNAME: "producer" }, /^KAFKA_SASL_USERNAME="producer" is invalid: expected unset under deno/);
  fails({ KAFKA_SASL_PASSWORD: "hunter22" }, /^KAFKA_SASL_PASSWORD="\[redacted\]" is invalid/);
  fails({ KAFKA_SECURITY_PROTOCOL: "SSL" }, /^KAFKA_SECURITY_PROTOCOL="SSL" is invalid/);
});

Deno.test("loadAlertWebhook(): from ALERT_WEBHOOK_URL_FILE first, a secret, and never quoted back when invalid", () => {
  const read = (path: string) => {
    if (path === "data/secrets/webhook") return "https://hooks.example/T/secret-token\n";
    throw new Deno.errors.NotFound(path);
  };
  assert.equal(loadAlertWebhook(env(), read), undefined);
  const webhook = loadAlertWebhook(
    env({ ALERT_WEBHOOK_URL_FILE: "data/secrets/webhook", ALERT_WEBHOOK_URL: "x" }),
    read,
  );
  assert.equal(webhook?.reveal(), "https://hooks.example/T/secret-token");
  assert.equal(`${webhook}`, "[redacted]");
  assert.throws(() => loadAlertWebhook(env({ ALERT_WEBHOOK_URL: "ftp://hooks.example/secret-token" }), read), {
    message: 'ALERT_WEBHOOK_URL="[redacted]" is invalid: expected an http:// or https:// URL',
  });
});
