/**
 * The pipeline's topics and the idempotent step that makes the cluster match them.
 *
 * Trades are keyed by symbol, so one symbol's trades stay in one partition, in exchange order.
 */
import type { Admin, ITopicConfig } from "kafkajs";
import type { TopicConfig } from "../config.ts";
import { marketProfile, MARKETS } from "../market.ts";

/** Valid spot trades, in the versioned envelope (each market has its own: see `marketProfile`). */
export const TRADES_TOPIC = marketProfile("spot").tradesTopic;

/** Spot events that failed validation or decoding, with the reason and the raw payload. */
export const DLQ_TOPIC = marketProfile("spot").dlqTopic;

const HOUR_MS = 3_600_000;

/** The topics to create, every market's trades and DLQ topic (spot's first), with every config this project manages. */
export function topicSpecs(config: TopicConfig): ITopicConfig[] {
  const spec = (topic: string, retentionHours: number): ITopicConfig => ({
    topic,
    numPartitions: config.partitions,
    replicationFactor: config.replicationFactor,
    configEntries: [
      { name: "cleanup.policy", value: "delete" },
      { name: "retention.ms", value: String(retentionHours === -1 ? -1 : retentionHours * HOUR_MS) },
      { name: "min.insync.replicas", value: String(config.minInsyncReplicas) },
      // Retention must count from when a trade reached Kafka, not from its trade time: with CreateTime a replay or
      // backfill of old trades would be deleted by the next retention check, before the consumer reads it.
      { name: "message.timestamp.type", value: "LogAppendTime" },
    ],
  });
  return MARKETS.flatMap((market) => {
    const profile = marketProfile(market);
    return [spec(profile.tradesTopic, config.retentionHours), spec(profile.dlqTopic, config.dlqRetentionHours)];
  });
}

/** What {@link ensureTopics} did to each topic. */
export interface TopicOutcome {
  topic: string;
  action: "created" | "unchanged" | "updated";
  notes: string[];
}

/**
 * Creates missing topics; on existing ones, adds partitions when fewer than asked and resets drifted configs.
 * Partitions are never removed and the replication factor is never changed: both are reported instead.
 */
export async function ensureTopics(admin: Admin, specs: ITopicConfig[]): Promise<TopicOutcome[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });

  const outcomes: TopicOutcome[] = missing.map((spec) => ({ topic: spec.topic, action: "created", notes: [] }));
  const present = specs.filter((spec) => existing.has(spec.topic));
  if (present.length === 0) return outcomes;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((spec) => ({ type: 2, /* TOPIC */ name: spec.topic })),
  });
  for (const spec of present) {
    const outcome: TopicOutcome = { topic: spec.topic, action: "unchanged", notes: [] };
    const partitions = metadata.topics.find((t) => t.name === spec.topic)?.partitions ?? [];
    const wanted = spec.numPartitions ?? partitions.length;
    if (partitions.length < wanted) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: wanted }] });
      outcome.action = "updated";
      outcome.notes.push(`partitions ${partitions.length} → ${wanted} (keys may now map to other partitions)`);
    } else if (partitions.length > wanted) {
      outcome.notes.push(
        `has ${partitions.length} partitions, more than the ${wanted} asked; Kafka cannot remove them`,
      );
    }
    const replicas = partitions[0]?.replicas.length;
    if (replicas !== undefined && spec.replicationFactor !== undefined && replicas !== spec.replicationFactor) {
      outcome.notes.push(
        `replication factor is ${replicas}, not ${spec.replicationFactor}; reassign partitions to change it`,
      );
    }
    const actual = configs.resources.find((r) => r.resourceName === spec.topic)?.configEntries ?? [];
    const drifted = (spec.configEntries ?? []).filter((entry) =>
      actual.find((a) => a.configName === entry.name)?.configValue !== entry.value
    );
    if (drifted.length > 0) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, /* TOPIC */ name: spec.topic, configEntries: spec.configEntries ?? [] }],
      });
      outcome.action = "updated";
      outcome.notes.push(`config ${drifted.map((entry) => `${entry.name}=${entry.value}`).join(", ")}`);
    }
    outcomes.push(outcome);
  }
  return outcomes;
}
