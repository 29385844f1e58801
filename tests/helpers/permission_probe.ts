/**
 * A probe the permission tests run under a task's own `deno run` flags: it tries each operation given as JSON in
 * its first argument and prints, as JSON, whether each one worked or the error it met. It imports nothing, so the
 * only permissions in play are the flags it was started with.
 *
 * Operations: `{ "op": "write", "path" }` (creates a file), `{ "op": "read", "path" }`, `{ "op": "fetch", "url" }`,
 * `{ "op": "connect", "hostname", "port" }`, `{ "op": "listen", "hostname" }`, `{ "op": "dns", "name" }`,
 * `{ "op": "env", "name" }` and `{ "op": "run", "command" }`.
 */

/** One operation to try. */
export type ProbeOperation =
  | { op: "write" | "read"; path: string }
  | { op: "fetch"; url: string }
  | { op: "connect"; hostname: string; port: number }
  | { op: "listen"; hostname: string }
  | { op: "dns"; name: string }
  | { op: "env"; name: string }
  | { op: "run"; command: string };

/** How an operation went: `error` is the error's class name (e.g. "NotCapable"), absent when it worked. */
export interface ProbeResult {
  operation: ProbeOperation;
  error?: string;
  message?: string;
}

async function attempt(operation: ProbeOperation): Promise<void> {
  switch (operation.op) {
    case "write":
      return await Deno.writeTextFile(operation.path, "probe\n");
    case "read":
      return void await Deno.readTextFile(operation.path);
    case "fetch": {
      // A 5 s bound: an allowed host that does not answer must not hang the test.
      const response = await fetch(operation.url, { signal: AbortSignal.timeout(5000) });
      return await response.body?.cancel();
    }
    case "connect":
      return (await Deno.connect({ hostname: operation.hostname, port: operation.port })).close();
    case "listen":
      return Deno.listen({ hostname: operation.hostname, port: 0 }).close();
    case "dns":
      return void await Deno.resolveDns(operation.name, "A");
    case "env":
      return void Deno.env.get(operation.name);
    case "run":
      return void await new Deno.Command(operation.command, { args: ["-c", "true"] }).output();
  }
}

/** Tries every operation in turn and reports each outcome. */
export async function probe(operations: readonly ProbeOperation[]): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const operation of operations) {
    try {
      await attempt(operation);
      results.push({ operation });
    } catch (error) {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      results.push({ operation, error: name, message });
    }
  }
  return results;
}

if (import.meta.main) console.log(JSON.stringify(await probe(JSON.parse(Deno.args[0] ?? "[]"))));
