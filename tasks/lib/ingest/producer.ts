/**
 * The producer's job from start to shutdown: exchange stream → validation → gap tracking → Kafka, with backfill
 * from REST and a durable state that makes restarts exact.
 *
 * Two gap trackers run side by side. `live` decides what to publish as frames arrive; `acked` follows the
 * brokers' acknowledgements in order and is what gets saved, so the saved state never claims a trade Kafka does
 * not hold.
 */
import { isAccessFailure } from "../kafka/failures.ts";
import { Partitioners } from "kafkajs";
import type { ExchangeConfig, KafkaConfig, ProducerConfig } from "../config.ts";
import { createKafka } from "../kafka/client.ts";
import { marketProfile } from "../market.ts";
import {
  fetchHistoricalTrades,
  fetchLatestTradeId,
  fetchRecentTrades,
  type ListedHealPlan,
  MAX_TRADES_PER_REQUEST,
  planHeal,
  planListedHeal,
  RateLimitedError,
  type RestAccess,
} from "./backfill.ts";
import { backoffDelayMs } from "./backoff.ts";
import { dlqMessage, type OutgoingMessage, tradeFromRest, tradeMessage } from "./envelope.ts";
import { ExchangeStream } from "./exchange_stream.ts";
import { type Gap, GapTracker } from "./gap_tracker.ts";
import { KafkaPublisher, type QueuedMessage } from "./kafka_publisher.ts";
import { loadState, replayTopicTail, saveState, stateAt } from "./producer_state.ts";
import { ReservoirSample } from "../bench/measure.ts";
import { sleep } from "../sleep.ts";
import { createProducerMetrics, type ProducerMetrics } from "../metrics.ts";
import { DLQ_REASONS, type DlqReason, parseTradeFrame, type TradePayload, validateTrade } from "./trade_event.ts";

/** Everything the producer needs to run. */
export interface ProducerSettings {
  exchange: ExchangeConfig;
  kafka: KafkaConfig;
  producer: ProducerConfig;
  /** USDⓈ-M futures: the key for `historicalTrades`; without it gaps heal from the public recent trades. */
  apiKey?: string | undefined;
  /** How often a progress line is printed. Default: 5 s. */
  progressEveryMs?: number;
  /** How often the state is saved. Default: 1 s. */
  saveEveryMs?: number;
  /** Where lines go; warnings and errors say so. Default: console.log. */
  log?: (line: string, level?: "warn" | "error") => void;
  /** Updated as trades are acknowledged and read when scraped. Default: a fresh registry nobody serves. */
  metrics?: ProducerMetrics;
}

/** What the producer did, printed as JSON at shutdown. */
export interface ProducerSummary {
  trades: Record<string, number>;
  backfilled: number;
  duplicatesDropped: number;
  dlq: Record<string, number>;
  reconnects: number;
  rotations: number;
  gapsFound: number;
  idsHealed: number;
  openGaps: (Gap & { symbol: string })[];
  gapsAbandoned: number;
  undelivered: number;
  ackLatencyMs: { p50: number | null; p99: number | null; samples: number };
  /** Largest resident set size seen (sampled with each progress line and at the end). */
  peakRssBytes: number;
  /** USDⓈ-M futures only: missing ids the source confirmed it does not have (off-book trades), closed, not healed. */
  absent?: number;
  /** The send the cluster refused (a missing ACL), which stopped the producer; not in the JSON summary. */
  refused?: Error;
}

type Meta = { kind: "trade"; symbol: string; id: number; tradeTimeMs: number; backfilled: boolean } | {
  kind: "dlq";
  reason: DlqReason;
};

/** Runs until `signal` aborts, then flushes, saves and returns the summary. */
export async function runProducer(settings: ProducerSettings, stop: AbortSignal): Promise<ProducerSummary> {
  // A send the cluster refuses (a missing ACL) would be refused forever: stop as on SIGTERM and say why.
  const refusal = new AbortController();
  let refused: Error | undefined;
  const signal = AbortSignal.any([stop, refusal.signal]);
  const log = settings.log ?? ((line: string) => console.log(line));
  const metrics = settings.metrics ?? createProducerMetrics();
  const { exchange, producer: options } = settings;
  const { market } = exchange;
  const { tradesTopic: TRADES_TOPIC, dlqTopic: DLQ_TOPIC } = marketProfile(market);
  const subscribed = new Set(exchange.symbols);
  const kafka = createKafka(settings.kafka.brokers, { clientId: "crypto-producer", security: settings.kafka.security });

  // 1. Remember: the saved state, made exact by replaying what Kafka acknowledged after it was saved.
  const saved = await loadState(options.statePath);
  const acked = saved ? GapTracker.restore(saved.tracker) : new GapTracker();
  // `acked` records every acknowledged id with observe(): a healed id fills its gap, an id beyond the highest opens
  // one, exactly as happened live, whatever order backfilled and streamed trades were acknowledged in.
  const recovery = await replayTopicTail(
    kafka,
    TRADES_TOPIC,
    saved?.offsets,
    (envelope) => {
      acked.observe(envelope.trade.s, envelope.trade.t, envelope.ingested_at_ms);
    },
    market,
    settings.kafka.security.protocol === "SASL_SSL",
  );
  if (recovery.replayed > 0) log(`recovered ${recovery.replayed} trades acknowledged after the last saved state`);
  const live = GapTracker.restore(acked.snapshot());

  // 2. Connect to Kafka.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  // Each send holds one partition (see KafkaPublisher), placed by kafkajs's own partitioner over the partitions the
  // topics have now; partitions added while running are used from the next start.
  const partitioner = Partitioners.DefaultPartitioner();
  const partitions = new Map(
    (await admin.fetchTopicMetadata({ topics: [TRADES_TOPIC, DLQ_TOPIC] })).topics.map((t) => [t.name, t.partitions]),
  );

  const counters = {
    trades: Object.fromEntries(exchange.symbols.map((s) => [s, 0])) as Record<string, number>,
    backfilled: 0,
    duplicatesDropped: 0,
    dlq: Object.fromEntries(DLQ_REASONS.map((r) => [r, 0])) as Record<string, number>,
  };
  // A fixed-size sample: a producer running for weeks reports its latency in constant memory.
  const latencies = new ReservoirSample();
  exchange.symbols.forEach((symbol) => metrics.trades.inc({ symbol }, 0));
  DLQ_REASONS.forEach((reason) => metrics.dlqEvents.inc({ reason }, 0));
  let peakRssBytes = Deno.memoryUsage().rss;
  const lastTradeTimeMs = new Map<string, number>();
  const publisher = new KafkaPublisher<Meta>(producer, {
    compression: options.compression,
    partitionOf: (topic, message) => partitioner({ topic, partitionMetadata: partitions.get(topic)!, message }),
    onRetry: (error, attempt) => log(`Kafka send failed (${error.message}); retry ${attempt + 1}`, "warn"),
    isRefusal: isAccessFailure,
    onRefused: (error) => {
      refused ??= error;
      refusal.abort();
    },
    onAcked: (messages) => {
      const now = Date.now();
      for (const { meta } of messages) {
        if (meta.kind === "dlq") {
          counters.dlq[meta.reason]!++;
          metrics.dlqEvents.inc({ reason: meta.reason });
          continue;
        }
        acked.observe(meta.symbol, meta.id, now);
        if (meta.backfilled) {
          counters.backfilled++;
          metrics.backfilledTrades.inc({ symbol: meta.symbol });
        } else {
          latencies.add(now - meta.tradeTimeMs);
          metrics.ackLatency.observe((now - meta.tradeTimeMs) / 1000);
        }
        counters.trades[meta.symbol] = (counters.trades[meta.symbol] ?? 0) + 1;
        metrics.trades.inc({ symbol: meta.symbol });
        lastTradeTimeMs.set(meta.symbol, Math.max(lastTradeTimeMs.get(meta.symbol) ?? 0, meta.tradeTimeMs));
      }
    },
  });
  const publishTrade = (
    trade: TradePayload,
    receivedAtMs: number,
    backfilled: boolean,
    raw?: string,
    sourcePrevId?: number,
  ) => {
    const message = tradeMessage(trade, receivedAtMs, backfilled, raw, { market, sourcePrevId });
    const tradeTimeMs = Number(message.timestamp);
    publisher.enqueue({
      topic: TRADES_TOPIC,
      message,
      meta: { kind: "trade", symbol: trade.s, id: trade.t, tradeTimeMs, backfilled },
    });
  };
  const publishDlq = (message: OutgoingMessage, reason: DlqReason) =>
    publisher.enqueue({ topic: DLQ_TOPIC, message, meta: { kind: "dlq", reason } } satisfies QueuedMessage<Meta>);

  // 3. Listen: every frame is published, dropped as a repeat, or sent to the DLQ with its reason. After every
  //    (re)connect, ask REST how far each symbol has traded, so trades lost just before a drop are healed too.
  const catchUp = new Set<string>();
  const stream = new ExchangeStream({
    onOpen: () => exchange.symbols.forEach((symbol) => catchUp.add(symbol)),
    wsUrl: exchange.wsUrl,
    symbols: exchange.symbols,
    staleAfterMs: options.staleAfterMs,
    log: (line) => log(`exchange: ${line}`),
    onFrame: (frame, receivedAtMs) => {
      if (typeof frame !== "string") {
        const raw = btoa(String.fromCharCode(...new Uint8Array(frame.slice(0, 6144))));
        publishDlq(
          dlqMessage(raw, "binary_frame", `binary frame of ${frame.byteLength} bytes`, receivedAtMs),
          "binary_frame",
        );
        return;
      }
      const result = parseTradeFrame(frame, subscribed, market);
      if (result.kind === "control") {
        stream.rotate(`exchange sent ${result.event}`);
      } else if (result.kind === "invalid") {
        publishDlq(dlqMessage(frame, result.reason, result.detail, receivedAtMs, result.symbol), result.reason);
      } else {
        const { decision, opened } = live.observe(result.trade.s, result.trade.t, receivedAtMs);
        if (opened) {
          log(`gap: ${result.trade.s} ids ${opened.from}-${opened.to} missing (${opened.to - opened.from + 1})`);
        }
        if (decision === "publish") publishTrade(result.trade, receivedAtMs, false, result.raw);
        else counters.duplicatesDropped++;
      }
    },
  });
  stream.start();
  const gapsAtStart = live.stats();
  metrics.sample(() => {
    const gaps = live.stats();
    const now = Date.now();
    return {
      reconnects: stream.stats.reconnects,
      gapsFound: gaps.gapsFound - gapsAtStart.gapsFound,
      gapIdsHealed: gaps.idsHealed - gapsAtStart.idsHealed,
      openGaps: gaps.openGaps,
      lagSeconds: Object.fromEntries([...lastTradeTimeMs].map(([symbol, ms]) => [symbol, (now - ms) / 1000])),
    };
  });

  // 4. Heal gaps from REST, one request at a time, pausing as long as the exchange asks.
  const healing = healGaps({ settings, live, acked, catchUp, publishTrade, publishDlq, signal, log });

  // 5. Save the state between batches, and report progress.
  const saveNow = async () =>
    saveState(options.statePath, stateAt(TRADES_TOPIC, await admin.fetchTopicOffsets(TRADES_TOPIC), acked.snapshot()));
  const saving = setInterval(
    () => publisher.betweenBatches(saveNow).catch((e) => log(`state not saved: ${(e as Error).message}`, "warn")),
    settings.saveEveryMs ?? 1000,
  );
  let previous = { at: performance.now(), trades: { ...counters.trades } };
  const progress = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, Deno.memoryUsage().rss);
    const now = performance.now();
    const seconds = (now - previous.at) / 1000;
    const rates = exchange.symbols.map((s) =>
      `${s} ${(((counters.trades[s] ?? 0) - (previous.trades[s] ?? 0)) / seconds).toFixed(0)}/s`
    );
    const lags = exchange.symbols.map((s) => lastTradeTimeMs.get(s)).filter((t) => t !== undefined);
    const lag = lags.length > 0 ? `${((Date.now() - Math.min(...lags)) / 1000).toFixed(1)} s` : "n/a";
    const gaps = live.stats();
    const dlq = Object.values(counters.dlq).reduce((a, b) => a + b, 0);
    log(
      `progress: ${
        rates.join(", ")
      } | dlq ${dlq} | reconnects ${stream.stats.reconnects} | gaps found ${gaps.gapsFound}` +
        ` healed ${gaps.idsHealed} open ${gaps.openGaps} | lag ${lag} | queue ${publisher.pending}`,
    );
    previous = { at: now, trades: { ...counters.trades } };
  }, settings.progressEveryMs ?? 5000);

  // 6. Shut down: stop reading, deliver everything accepted, save, disconnect.
  await new Promise<void>((resolve) => signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve()));
  log("shutting down: flushing pending messages");
  stream.stop();
  clearInterval(progress);
  clearInterval(saving);
  await healing;
  const undelivered = await publisher.close();
  if (undelivered > 0) {
    log(`${undelivered} messages could not be delivered; their trades will be backfilled on restart`, "error");
  }
  // Unsaved, the state is still exact on restart: the Kafka tail after the last save is replayed.
  await saveNow().catch((e) => log(`state not saved at shutdown: ${(e as Error).message}`, "warn"));
  await admin.disconnect();
  await producer.disconnect();

  const gaps = live.stats();
  return {
    trades: counters.trades,
    backfilled: counters.backfilled,
    duplicatesDropped: counters.duplicatesDropped,
    dlq: Object.fromEntries(Object.entries(counters.dlq).filter(([, n]) => n > 0)),
    reconnects: stream.stats.reconnects,
    rotations: stream.stats.rotations,
    gapsFound: gaps.gapsFound,
    idsHealed: gaps.idsHealed,
    openGaps: exchange.symbols.flatMap((s) => live.gaps(s).map((gap) => ({ ...gap, symbol: s }))),
    gapsAbandoned: gaps.gapsAbandoned,
    undelivered,
    ackLatencyMs: { p50: latencies.quantile(0.5), p99: latencies.quantile(0.99), samples: latencies.count },
    peakRssBytes: Math.max(peakRssBytes, Deno.memoryUsage().rss),
    ...(market === "spot" ? {} : { absent: live.idsAbsent() }),
    ...(refused ? { refused } : {}),
  };
}

interface HealContext {
  settings: ProducerSettings;
  live: GapTracker;
  acked: GapTracker;
  /** Symbols whose latest trade id should be asked for before healing. */
  catchUp: Set<string>;
  publishTrade: (
    trade: TradePayload,
    receivedAtMs: number,
    backfilled: boolean,
    raw?: string,
    sourcePrevId?: number,
  ) => void;
  publishDlq: (message: OutgoingMessage, reason: DlqReason) => void;
  signal: AbortSignal;
  log: (line: string, level?: "warn" | "error") => void;
}

/** Gives up on a gap after this many passes that healed nothing. */
const MAX_FRUITLESS_PASSES = 5;

async function healGaps(context: HealContext): Promise<void> {
  const { settings, live, acked, signal, log } = context;
  const { restUrl, symbols, market } = settings.exchange;
  const subscribed = new Set(symbols);
  const access: RestAccess = { market, apiKey: settings.apiKey };
  const listed = market === "usdm";
  if (listed && settings.apiKey === undefined) {
    log(
      "usdm: no BINANCE_API_KEY_FILE or BINANCE_API_KEY: gaps are healed from the public /fapi/v1/trades (recent " +
        "trades only); older gaps wait for deno task import --market usdm --fill-gaps",
    );
  }
  // Gaps older than the recent trades reach back to: reported once and left open, not asked for again.
  const tooOld = new Set<string>();
  const fruitless = new Map<string, number>();
  let pausedUntil = 0;
  let failures = 0;
  while (!signal.aborted) {
    await sleep(pausedUntil > Date.now() ? Math.min(pausedUntil - Date.now(), 1000) : 200, signal);
    if (signal.aborted || pausedUntil > Date.now()) continue;
    try {
      for (const symbol of [...context.catchUp]) {
        const latest = await fetchLatestTradeId(restUrl, symbol, fetch, access);
        context.catchUp.delete(symbol);
        const opened = latest === undefined ? undefined : live.extend(symbol, latest, Date.now());
        if (opened) {
          log(
            `gap: ${symbol} ids ${opened.from}-${opened.to} traded while disconnected (${opened.to - opened.from + 1})`,
          );
        }
      }
    } catch (error) {
      pausedUntil = Date.now() +
        (error instanceof RateLimitedError
          ? error.retryAfterMs
          : backoffDelayMs(failures++, Math.random, { capMs: 60_000 }));
      log(`catch-up: ${(error as Error).message}`, "warn");
      continue;
    }
    for (const symbol of symbols) {
      const gap = live.gaps(symbol).find((g) => !tooOld.has(`${symbol}:${g.from}`));
      if (gap === undefined || signal.aborted) continue;
      const key = `${symbol}:${gap.from}`;
      try {
        if (listed) {
          const closed = await healListed(context, symbol, gap, access);
          failures = 0;
          if (closed.older) {
            tooOld.add(`${symbol}:${closed.older.from}`);
            log(
              `gap: ${symbol} ids ${closed.older.from}-${closed.older.to} are older than /fapi/v1/trades holds; left open ` +
                `for deno task import --market usdm --fill-gaps`,
              "warn",
            );
          }
          if (closed.healed > 0 || closed.absent > 0 || closed.older) {
            fruitless.delete(key);
          } else if (countFruitless(fruitless, key) >= MAX_FRUITLESS_PASSES) {
            giveUp(context, symbol, gap, MAX_FRUITLESS_PASSES);
          }
          continue;
        }
        const limit = Math.min(MAX_TRADES_PER_REQUEST, gap.to - gap.from + 1);
        const rows = await fetchHistoricalTrades(restUrl, symbol, gap.from, limit);
        failures = 0;
        const plan = planHeal(gap, rows);
        if (plan.unavailable) {
          live.abandon(symbol, plan.unavailable);
          acked.abandon(symbol, plan.unavailable);
          log(
            `gap: ${symbol} ids ${plan.unavailable.from}-${plan.unavailable.to} are no longer served by the exchange`,
            "warn",
          );
        }
        const receivedAtMs = Date.now();
        let healed = 0;
        for (const row of plan.trades) {
          const trade = tradeFromRest(symbol, row);
          const checked = validateTrade(trade as unknown as Record<string, unknown>, subscribed, {
            requireEventTime: false,
          });
          if (checked.kind !== "trade") {
            const reason = checked.kind === "invalid" ? checked.reason : "unknown_event";
            context.publishDlq(
              dlqMessage(
                JSON.stringify(row),
                reason,
                `backfill: ${checked.kind === "invalid" ? checked.detail : ""}`,
                receivedAtMs,
                symbol,
              ),
              reason,
            );
            continue;
          }
          if (live.heal(symbol, trade.t) === "publish") {
            context.publishTrade(trade, receivedAtMs, true);
            healed++;
          }
        }
        if (healed > 0) {
          fruitless.delete(key);
          log(`backfill: ${symbol} healed ${healed} trades from id ${gap.from}`);
        } else if (!plan.unavailable) {
          const passes = countFruitless(fruitless, key);
          if (passes >= MAX_FRUITLESS_PASSES) giveUp(context, symbol, gap, passes);
        }
      } catch (error) {
        if (error instanceof RateLimitedError) {
          pausedUntil = Date.now() + error.retryAfterMs;
          log(`backfill: ${error.message}`, "warn");
          break;
        }
        pausedUntil = Date.now() + backoffDelayMs(failures++, Math.random, { capMs: 60_000 });
        log(`backfill: ${symbol} failed (${(error as Error).message}); retrying later`, "warn");
        break;
      }
    }
  }
}

function countFruitless(fruitless: Map<string, number>, key: string): number {
  const passes = (fruitless.get(key) ?? 0) + 1;
  fruitless.set(key, passes);
  return passes;
}

function giveUp(context: HealContext, symbol: string, gap: Gap, passes: number): void {
  context.live.abandon(symbol, gap);
  context.acked.abandon(symbol, gap);
  context.log(
    `gap: ${symbol} ids ${gap.from}-${gap.to} still missing after ${passes} tries; given up and counted as unhealed`,
    "warn",
  );
}

/**
 * One healing pass of a USDⓈ-M gap: `historicalTrades?fromId=` with a key, else the public recent trades. Trades
 * inside the gap are published with the id the source listed before them; ids it skipped while listing past them
 * close as absent (off-book trades REST never lists).
 */
async function healListed(
  context: HealContext,
  symbol: string,
  gap: Gap,
  access: RestAccess,
): Promise<{ healed: number; absent: number; older?: Gap }> {
  const { settings, live, acked, log } = context;
  const { restUrl, symbols, market } = settings.exchange;
  let plan: ListedHealPlan;
  let source: string;
  if (access.apiKey !== undefined) {
    const limit = Math.min(MAX_TRADES_PER_REQUEST, gap.to - gap.from + 1);
    plan = planListedHeal(gap, await fetchHistoricalTrades(restUrl, symbol, gap.from, limit, fetch, access), gap.from);
    source = "historicalTrades";
  } else {
    plan = planListedHeal(gap, await fetchRecentTrades(restUrl, symbol, MAX_TRADES_PER_REQUEST, fetch, access));
    source = "trades";
  }
  const receivedAtMs = Date.now();
  const subscribed = new Set(symbols);
  let healed = 0;
  for (const { row, sourcePrevId } of plan.trades) {
    const trade = tradeFromRest(symbol, row, market);
    const checked = validateTrade(trade as unknown as Record<string, unknown>, subscribed, { market });
    if (checked.kind !== "trade") {
      const reason = checked.kind === "invalid" ? checked.reason : "unknown_event";
      const detail = `backfill: ${checked.kind === "invalid" ? checked.detail : ""}`;
      context.publishDlq(dlqMessage(JSON.stringify(row), reason, detail, receivedAtMs, symbol), reason);
      continue;
    }
    if (live.heal(symbol, trade.t) === "publish") {
      context.publishTrade(trade, receivedAtMs, true, undefined, sourcePrevId);
      healed++;
    }
  }
  let absent = 0;
  for (const range of plan.absent) {
    const confirmed = live.confirmAbsent(symbol, range.from, range.to);
    absent += confirmed;
    acked.confirmAbsent(symbol, range.from, range.to);
    // Absent ids at the gap's top sit below a trade the stream delivered, which carries no proof: publish the source's
    // copy of it once, with the proof (a backfill copy overlapping the live one, which staging de-duplicates).
    const proof = plan.proofs.find((p) => p.row.id === range.to + 1);
    if (confirmed > 0 && proof !== undefined) {
      context.publishTrade(tradeFromRest(symbol, proof.row, market), receivedAtMs, true, undefined, proof.sourcePrevId);
    }
  }
  if (healed > 0 || absent > 0) {
    log(
      `backfill: ${symbol} healed ${healed} trades and ${absent} ids absent at the source from id ${gap.from} (${source})`,
    );
  }
  return plan.older ? { healed, absent, older: plan.older } : { healed, absent };
}
