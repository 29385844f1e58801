/** The supervisor's log: one timestamped line per event or child output line, rotated once it grows large. */

/** An append-only log file. */
export interface LogFile {
  write(line: string): void;
  close(): void;
}

/**
 * Opens `path` for appending. Once it holds more than `maxBytes`, it is renamed to `path.1` (replacing the
 * previous one) and a new file is started, so a long run keeps at most about twice `maxBytes` of log.
 */
export function openLogFile(path: string, maxBytes = 20_000_000, now: () => Date = () => new Date()): LogFile {
  const encoder = new TextEncoder();
  let file = Deno.openSync(path, { create: true, append: true });
  let size = file.statSync().size;
  return {
    write(line: string) {
      const bytes = encoder.encode(`${now().toISOString()} ${line}\n`);
      if (size + bytes.length > maxBytes && size > 0) {
        file.close();
        Deno.renameSync(path, `${path}.1`);
        file = Deno.openSync(path, { create: true, append: true });
        size = 0;
      }
      file.writeSync(bytes);
      size += bytes.length;
    },
    close() {
      file.close();
    },
  };
}
