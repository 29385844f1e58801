/**
 * `deno task topics`: creates every market's topics (crypto.trades.v1 and crypto.trades.dlq.v1 for spot,
 * crypto.trades.usdm.v1 and crypto.trades.usdm.dlq.v1 for USDⓈ-M futures), or makes existing ones match the config.
 * Under KAFKA_SECURITY_PROTOCOL=SASL_SSL (logged in as an admin) it also grants the pipeline's ACLs to the users
 * `producer` and `consumer` (tasks/lib/kafka/acls.ts; creating one that exists is a no-op), so a cluster that is not
 * the project's own (Docker's secure variant, one across machines) is set up by the same command.
 *
 * Permissions: net to the brokers; env for the settings and kafkajs.
 */
import { explainKafkaFailure } from "./lib/kafka/failures.ts";
import { loadKafkaConfig, loadTopicConfig } from "./lib/config.ts";
import { runTask, TaskError } from "./lib/cli.ts";
import { createKafka } from "./lib/kafka/client.ts";
import { ensureTopics, topicSpecs } from "./lib/kafka/topics.ts";
import { pipelineAcls } from "./lib/kafka/acls.ts";

async function main(): Promise<void> {
  const kafka = loadKafkaConfig(Deno.env);
  const topics = loadTopicConfig(Deno.env);
  const admin = createKafka(kafka.brokers, {
    clientId: "crypto-topics",
    retry: { retries: 3 },
    security: kafka.security,
  }).admin();
  try {
    await admin.connect();
    for (const outcome of await ensureTopics(admin, topicSpecs(topics))) {
      console.log(`${outcome.topic}: ${outcome.action}${outcome.notes.map((note) => `; ${note}`).join("")}`);
    }
    if (kafka.security.protocol === "SASL_SSL") {
      const acl = pipelineAcls();
      await admin.createAcls({ acl });
      console.log(`ACLs: ${acl.length} granted to the users producer and consumer`);
    }
  } catch (error) {
    if (error instanceof TaskError) throw error;
    const refused = await explainKafkaFailure(error, { brokers: kafka.brokers, security: kafka.security });
    if (refused) throw refused;
    const brokers = kafka.brokers.map((b) => `${b.host}:${b.port}`).join(",");
    throw new TaskError(`Cannot create topics on ${brokers}: is Kafka running? (deno task kafka start)`, {
      cause: error,
    });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

if (import.meta.main) runTask("topics", main);
