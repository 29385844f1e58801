/**
 * Who may do what on the secure cluster: least privilege for the pipeline's two principals, for every market.
 *
 * - `producer` writes its trades and DLQ topics (idempotently). It also reads its own trades topic, only through
 *   groups named `crypto-producer-recovery-…`: after a crash it replays what it last wrote, so that a restart neither
 *   loses nor doubles a trade, and deletes that group afterwards.
 * - `consumer` reads both topics through the lake writer's groups, and writes the DLQ only: events it cannot decode
 *   are dead letters it publishes itself.
 * - `admin` (a super user, as the brokers) creates topics and runs the set-up.
 *
 * Pure: the bindings, in kafkajs's shape; the set-up applies them (creating an existing ACL changes nothing).
 */
import { type AclEntry, AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from "kafkajs";
import { dlqGroupId, marketProfile, MARKETS } from "../market.ts";

/** The recovery consumer groups of the producer start with this. */
export const PRODUCER_RECOVERY_GROUP_PREFIX = "crypto-producer-recovery-";

/** One ACL binding as kafkajs's createAcls takes it. */
export type AclBinding = AclEntry & {
  resourceType: AclResourceTypes;
  resourceName: string;
  resourcePatternType: ResourcePatternTypes;
};

/** Every ACL of the pipeline's principals. */
export function pipelineAcls(): AclBinding[] {
  const allow = (
    principal: string,
    resourceType: AclResourceTypes,
    resourceName: string,
    operation: AclOperationTypes,
    resourcePatternType = ResourcePatternTypes.LITERAL,
  ): AclBinding => ({
    principal: `User:${principal}`,
    host: "*",
    operation,
    permissionType: AclPermissionTypes.ALLOW,
    resourceType,
    resourceName,
    resourcePatternType,
  });
  const { TOPIC, GROUP, CLUSTER } = AclResourceTypes;
  const { WRITE, READ, DESCRIBE, DELETE, IDEMPOTENT_WRITE } = AclOperationTypes;
  const bindings: AclBinding[] = [allow("producer", CLUSTER, "kafka-cluster", IDEMPOTENT_WRITE)];
  for (const market of MARKETS) {
    const { tradesTopic, dlqTopic, consumerGroup } = marketProfile(market);
    bindings.push(
      allow("producer", TOPIC, tradesTopic, WRITE),
      allow("producer", TOPIC, dlqTopic, WRITE),
      allow("producer", TOPIC, tradesTopic, READ),
      allow("consumer", TOPIC, tradesTopic, READ),
      allow("consumer", TOPIC, dlqTopic, READ),
      allow("consumer", TOPIC, dlqTopic, WRITE),
      allow("consumer", GROUP, consumerGroup, READ),
      allow("consumer", GROUP, dlqGroupId(market), READ),
      allow("consumer", TOPIC, tradesTopic, DESCRIBE),
    );
  }
  bindings.push(
    allow("producer", GROUP, PRODUCER_RECOVERY_GROUP_PREFIX, READ, ResourcePatternTypes.PREFIXED),
    allow("producer", GROUP, PRODUCER_RECOVERY_GROUP_PREFIX, DELETE, ResourcePatternTypes.PREFIXED),
    allow("consumer", CLUSTER, "kafka-cluster", IDEMPOTENT_WRITE),
  );
  return bindings;
}
