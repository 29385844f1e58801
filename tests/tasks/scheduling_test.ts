/** The scheduler files shipped in tasks/scheduling/ call tasks and flags that exist. */
import assert from "node:assert/strict";
import { PROJECT_ROOT } from "../../tasks/lib/paths.ts";

const FILES = [
  "register-windows-tasks.ps1",
  "crontab.example",
  "systemd/crypto-refresh.service",
  "systemd/crypto-refresh-nightly.service",
];

Deno.test("scheduler files run deno tasks that exist, with flags those tasks accept", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`)).tasks;
  const refreshSource = await Deno.readTextFile(`${PROJECT_ROOT}/tasks/refresh.ts`);
  const calls = new Set<string>();
  for (const file of FILES) {
    const text = await Deno.readTextFile(`${PROJECT_ROOT}/tasks/scheduling/${file}`);
    for (const match of text.matchAll(/deno@2\.9\.6\S* task ([a-z:]+)((?: --[a-z-]+(?: \d+)?)*)/g)) {
      calls.add(match[1]!);
      assert.ok(tasks[match[1]!], `${file} runs deno task ${match[1]}, which deno.json does not define`);
      for (const flag of match[2]!.matchAll(/--([a-z-]+)/g)) {
        if (match[1] === "refresh") {
          assert.match(refreshSource, new RegExp(`(?:"${flag[1]}"|\\b${flag[1]}): \\{`), `${file}: ${flag[0]}`);
        }
      }
    }
  }
  assert.deepEqual([...calls].sort(), ["notify", "reconcile", "refresh"]);
});
