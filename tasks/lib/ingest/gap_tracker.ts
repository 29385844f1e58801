/**
 * Per-symbol bookkeeping of trade ids, which the exchange numbers contiguously on spot markets.
 *
 * For each symbol it knows the highest id seen and the ranges below it still missing. A live trade is
 * published when it is new or fills a missing id, and dropped when it was seen already (overlapping
 * connections, replays after reconnect). A jump opens a gap, which backfill heals or gives up on.
 * Pure and serialisable, so the producer can persist it and rebuild it after a crash.
 */

/** A range of missing trade ids, both ends included. */
export interface Gap {
  from: number;
  to: number;
  /** When the jump was noticed (ms since the epoch). */
  firstSeenMs: number;
}

/** What to do with one trade id. */
export type Decision = "publish" | "duplicate";

/** The tracker's state as plain JSON. */
export interface TrackerSnapshot {
  symbols: Record<string, { highest: number; gaps: Gap[] }>;
  gapsFound: number;
  idsHealed: number;
  gapsAbandoned: Gap[];
  /** Ids the source confirmed it does not have (USDⓈ-M off-book trades); absent from older snapshots. */
  idsAbsent?: number;
}

/** Tracks trade ids for every symbol. */
export class GapTracker {
  #symbols = new Map<string, { highest: number; gaps: Gap[] }>();
  #gapsFound = 0;
  #idsHealed = 0;
  #abandoned: (Gap & { symbol: string })[] = [];
  #idsAbsent = 0;

  /** A tracker continuing from a snapshot. */
  static restore(snapshot: TrackerSnapshot): GapTracker {
    const tracker = new GapTracker();
    for (const [symbol, state] of Object.entries(snapshot.symbols)) {
      tracker.#symbols.set(symbol, { highest: state.highest, gaps: state.gaps.map((gap) => ({ ...gap })) });
    }
    tracker.#gapsFound = snapshot.gapsFound;
    tracker.#idsHealed = snapshot.idsHealed;
    tracker.#abandoned = (snapshot.gapsAbandoned as (Gap & { symbol: string })[]).map((gap) => ({ ...gap }));
    tracker.#idsAbsent = snapshot.idsAbsent ?? 0;
    return tracker;
  }

  /**
   * Records a trade received on the stream. Returns the decision and, when the id jumped, the gap it opened.
   * The first id of a symbol with no history opens no gap: nothing before it was promised.
   */
  observe(symbol: string, id: number, nowMs: number): { decision: Decision; opened?: Gap } {
    const state = this.#symbols.get(symbol);
    if (state === undefined) {
      this.#symbols.set(symbol, { highest: id, gaps: [] });
      return { decision: "publish" };
    }
    if (id === state.highest + 1) {
      state.highest = id;
      return { decision: "publish" };
    }
    if (id > state.highest + 1) {
      const opened = { from: state.highest + 1, to: id - 1, firstSeenMs: nowMs };
      state.gaps.push(opened);
      state.highest = id;
      this.#gapsFound++;
      return { decision: "publish", opened: { ...opened } };
    }
    return { decision: this.#fill(state, id) ? "publish" : "duplicate" };
  }

  /**
   * Learns from REST that the exchange has traded up to `latestId`: ids above the highest seen become a gap,
   * so trades lost just before a disconnect are healed even if no later trade arrives on the stream.
   */
  extend(symbol: string, latestId: number, nowMs: number): Gap | undefined {
    const state = this.#symbols.get(symbol);
    if (state === undefined || latestId <= state.highest) return undefined;
    const opened = { from: state.highest + 1, to: latestId, firstSeenMs: nowMs };
    state.gaps.push(opened);
    state.highest = latestId;
    this.#gapsFound++;
    return { ...opened };
  }

  /** Records a trade recovered by backfill: published only when its id is still missing. */
  heal(symbol: string, id: number): Decision {
    const state = this.#symbols.get(symbol);
    if (state === undefined || !this.#fill(state, id)) return "duplicate";
    this.#idsHealed++;
    return "publish";
  }

  /** Stops trying to heal a gap (the exchange no longer has those trades); it is kept in the report. */
  abandon(symbol: string, gap: Gap): void {
    const state = this.#symbols.get(symbol);
    if (state === undefined) return;
    const before = state.gaps.length;
    state.gaps = state.gaps.filter((g) => !(g.from >= gap.from && g.to <= gap.to));
    if (state.gaps.length !== before) this.#abandoned.push({ ...gap, symbol });
  }

  /**
   * Closes the missing ids in `from`..`to` that the source confirmed it does not have (it listed trades on both
   * sides of them): not a gap, not healed, not abandoned. Returns how many missing ids it closed.
   */
  confirmAbsent(symbol: string, from: number, to: number): number {
    const state = this.#symbols.get(symbol);
    if (state === undefined) return 0;
    let closed = 0;
    const pieces: Gap[] = [];
    for (const gap of state.gaps) {
      const lo = Math.max(gap.from, from);
      const hi = Math.min(gap.to, to);
      if (lo > hi) {
        pieces.push(gap);
        continue;
      }
      closed += hi - lo + 1;
      if (gap.from < lo) pieces.push({ from: gap.from, to: lo - 1, firstSeenMs: gap.firstSeenMs });
      if (hi < gap.to) pieces.push({ from: hi + 1, to: gap.to, firstSeenMs: gap.firstSeenMs });
    }
    state.gaps = pieces;
    this.#idsAbsent += closed;
    return closed;
  }

  /** Ids closed by {@link confirmAbsent} so far. */
  idsAbsent(): number {
    return this.#idsAbsent;
  }

  /** The missing ranges of one symbol, lowest first. */
  gaps(symbol: string): Gap[] {
    return (this.#symbols.get(symbol)?.gaps ?? []).map((gap) => ({ ...gap })).sort((a, b) => a.from - b.from);
  }

  /** The highest id seen for a symbol. */
  highest(symbol: string): number | undefined {
    return this.#symbols.get(symbol)?.highest;
  }

  /** Counters for progress lines and metrics. */
  stats(): { gapsFound: number; idsHealed: number; idsMissing: number; openGaps: number; gapsAbandoned: number } {
    let idsMissing = 0;
    let openGaps = 0;
    for (const state of this.#symbols.values()) {
      openGaps += state.gaps.length;
      for (const gap of state.gaps) idsMissing += gap.to - gap.from + 1;
    }
    return {
      gapsFound: this.#gapsFound,
      idsHealed: this.#idsHealed,
      idsMissing,
      openGaps,
      gapsAbandoned: this.#abandoned.length,
    };
  }

  /** The state as plain JSON. */
  snapshot(): TrackerSnapshot {
    const symbols: TrackerSnapshot["symbols"] = {};
    for (const [symbol, state] of this.#symbols) {
      symbols[symbol] = { highest: state.highest, gaps: state.gaps.map((gap) => ({ ...gap })) };
    }
    return {
      symbols,
      gapsFound: this.#gapsFound,
      idsHealed: this.#idsHealed,
      gapsAbandoned: this.#abandoned.map((gap) => ({ ...gap })),
      // Only when there are any, so a spot producer's state file stays as it was.
      ...(this.#idsAbsent > 0 ? { idsAbsent: this.#idsAbsent } : {}),
    };
  }

  /** Removes `id` from the gap holding it, splitting the gap when the id is inside. */
  #fill(state: { gaps: Gap[] }, id: number): boolean {
    const index = state.gaps.findIndex((gap) => gap.from <= id && id <= gap.to);
    if (index === -1) return false;
    const gap = state.gaps[index]!;
    const pieces: Gap[] = [];
    if (gap.from < id) pieces.push({ from: gap.from, to: id - 1, firstSeenMs: gap.firstSeenMs });
    if (id < gap.to) pieces.push({ from: id + 1, to: gap.to, firstSeenMs: gap.firstSeenMs });
    state.gaps.splice(index, 1, ...pieces);
    return true;
  }
}
