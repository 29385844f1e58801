/** Bad settings and arguments stop a task with one line naming what to fix, and exit code 2. */
import assert from "node:assert/strict";
import { runDenoTask } from "../helpers/tasks.ts";

const cases: [task: string[], env: Record<string, string>, message: RegExp][] = [
  [
    ["kafka", "status"],
    { KAFKA_BROKERS: "nonsense" },
    /^kafka: KAFKA_BROKERS="nonsense" is invalid: expected comma-separated host:port pairs/,
  ],
  [["kafka", "status"], { KAFKA_HEAP: "1 TB" }, /^kafka: KAFKA_HEAP="1 TB" is invalid: expected a JVM heap size/],
  [
    ["kafka", "status"],
    { KAFKA_BROKERS: "localhost:9092,localhost:9093" },
    /^kafka: KAFKA_BROKERS="localhost:9092,localhost:9093" is invalid: expected ports at least 2 apart/,
  ],
  [
    ["kafka", "start"],
    { KAFKA_BROKERS: "kafka.example.com:9092" },
    /^kafka: KAFKA_BROKERS="kafka.example.com:9092" is invalid: expected localhost or 127.0.0.1 hosts/,
  ],
  [["kafka", "explode"], {}, /^kafka: Unknown command "explode": usage: deno task kafka start\|stop\|status\|logs/],
  [["kafka"], {}, /^kafka: Missing a command: usage:/],
  [["kafka", "status", "--bogus"], {}, /^kafka: Unknown option '--bogus'/],
  [["retention", "--days"], {}, /^retention: Option '--days <value>' argument missing/],
  [["compact", "--grace-minutes", "soon"], {}, /^compact: Cannot use --grace-minutes "soon": expected a whole number/],
  [["kafka", "logs", "--lines", "x"], {}, /^kafka: Cannot show --lines "x": expected a whole number above 0/],
  [
    ["topics"],
    { KAFKA_TOPIC_PARTITIONS: "0" },
    /^topics: KAFKA_TOPIC_PARTITIONS="0" is invalid: expected a whole number from 1 to 10000/,
  ],
  [["topics"], { KAFKA_MIN_INSYNC_REPLICAS: "2" }, /^topics: KAFKA_MIN_INSYNC_REPLICAS="2" is invalid/],
  [["topics"], { KAFKA_RETENTION_HOURS: "soon" }, /^topics: KAFKA_RETENTION_HOURS="soon" is invalid/],
  [["producer"], { MARKET: "coinm" }, /^producer: MARKET="coinm" is invalid: expected spot or usdm/],
  [
    ["producer"],
    { MARKET: "usdm", BINANCE_API_KEY_FILE: "data/secrets/no-such-key" },
    /^producer: BINANCE_API_KEY_FILE="data\/secrets\/no-such-key" is invalid: .* it does not exist\n$/,
  ],
  [
    ["producer"],
    { MARKET: "usdm", BINANCE_API_KEY_FILE: "/etc/hostname" },
    /^producer: BINANCE_API_KEY_FILE="\/etc\/hostname" is invalid: .*keep it under data\/secrets\/\)\n$/,
  ],
];

for (const [task, env, message] of cases) {
  const name = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ") || task.slice(1).join(" ");
  Deno.test(`${task[0]} task refuses ${name} with one line and exit code 2`, async () => {
    const result = await runDenoTask(task, env);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, `one line, no stack trace:\n${result.stderr}`);
  });
}
