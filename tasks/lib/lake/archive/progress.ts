/**
 * The import's progress: on a terminal, a bar for the current file and one for the whole run, redrawn in place
 * (bytes, trades, rate, ETA); elsewhere (a pipe, a log file, CI) a plain line per phase and at most one every few
 * seconds while a download or an unzip runs. The text is made by pure functions; only `TerminalProgress` writes.
 */

/** What the importer reports. */
export interface ImportProgress {
  /** The run will look at `files` archive files. */
  start(files: number): void;
  /** A phase of a file began or moved on; `done`/`total` in bytes where known. */
  file(name: string, phase: string, done?: number, total?: number): void;
  /** A file finished (imported, skipped or failed) with `trades` trades. */
  fileDone(name: string, trades: number): void;
  /** A line that must be seen (a failure, a skip). */
  say(line: string): void;
  /** The run ended. */
  end(): void;
}

/** `12.3 MB` */
export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** `[#######.............]  35%` */
export function bar(fraction: number, width = 20): string {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}

/** `1 min 05 s`, `12 s` */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}

/** The run's totals line: files, trades, rate and ETA. */
export function overallLine(filesDone: number, files: number, trades: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? trades / elapsedSeconds : 0;
  const eta = filesDone > 0 ? (elapsedSeconds / filesDone) * (files - filesDone) : NaN;
  return `all   ${bar(files === 0 ? 1 : filesDone / files)} ${filesDone}/${files} files, ` +
    `${trades.toLocaleString("en-US")} trades, ${Math.round(rate).toLocaleString("en-US")} trades/s, ETA ${
      formatSeconds(eta)
    }`;
}

/** The current file's line. */
export function fileLine(name: string, phase: string, done?: number, total?: number, elapsedSeconds = 0): string {
  if (done === undefined) return `file  ${name}: ${phase}`;
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const amount = total ? `${formatBytes(done)} of ${formatBytes(total)}` : formatBytes(done);
  const eta = total && rate > 0 ? `, ETA ${formatSeconds((total - done) / rate)}` : "";
  return `file  ${name}: ${phase} ${total ? bar(done / total) + " " : ""}${amount}, ${formatBytes(rate)}/s${eta}`;
}

/** Progress for a terminal (two lines redrawn in place) or for a log (plain lines, throttled). */
export class TerminalProgress implements ImportProgress {
  #files = 0;
  #filesDone = 0;
  #trades = 0;
  #startedMs = performance.now();
  #phaseStartedMs = performance.now();
  #lastPhase = "";
  #lastPlainMs = 0;
  #drawn = false;
  readonly #encoder = new TextEncoder();

  constructor(
    private readonly isTerminal: boolean,
    private readonly write: (text: string) => void = (text) => Deno.stderr.writeSync(this.#encoder.encode(text)),
    private readonly plainEveryMs = 5000,
  ) {}

  start(files: number): void {
    this.#files = files;
    this.#startedMs = performance.now();
  }

  file(name: string, phase: string, done?: number, total?: number): void {
    const key = `${name} ${phase}`;
    const now = performance.now();
    const isNewPhase = key !== this.#lastPhase;
    if (isNewPhase) {
      this.#lastPhase = key;
      this.#phaseStartedMs = now;
    }
    const line = fileLine(name, phase, done, total, (now - this.#phaseStartedMs) / 1000);
    if (this.isTerminal) {
      this.#draw(line);
    } else if (isNewPhase || now - this.#lastPlainMs >= this.plainEveryMs) {
      this.#lastPlainMs = now;
      this.write(`import: ${line.replace(/^file {2}/, "")}\n`);
    }
  }

  fileDone(name: string, trades: number): void {
    this.#filesDone++;
    this.#trades += trades;
    const line = overallLine(this.#filesDone, this.#files, this.#trades, (performance.now() - this.#startedMs) / 1000);
    if (this.isTerminal) this.#draw(`file  ${name}: done`, line);
    else this.write(`import: ${line.replace(/^all {3}/, "")}\n`);
  }

  say(line: string): void {
    if (this.isTerminal && this.#drawn) this.write("\r\x1b[2K\x1b[1A\r\x1b[2K");
    this.#drawn = false;
    this.write(`${line}\n`);
  }

  end(): void {
    if (this.isTerminal && this.#drawn) this.write("\n");
    this.#drawn = false;
  }

  #draw(fileText: string, overall?: string): void {
    const all = overall ??
      overallLine(this.#filesDone, this.#files, this.#trades, (performance.now() - this.#startedMs) / 1000);
    const columns = 120;
    const fit = (text: string) => text.slice(0, columns);
    // Up one line (when drawn before), clear both lines, write them.
    const up = this.#drawn ? "\r\x1b[2K\x1b[1A\r\x1b[2K" : "";
    this.write(`${up}${fit(all)}\n${fit(fileText)}`);
    this.#drawn = true;
  }
}
