/**
 * `deno task models:docs`: prints the models' lineage graph (mermaid) and each model's columns and tests, as
 * markdown, from `models/`.
 *
 * Permissions: read `models/` only.
 */
import { resolve } from "node:path";
import { runTask, TaskError } from "./lib/cli.ts";
import { PROJECT_ROOT } from "./lib/paths.ts";
import { modelsMarkdown } from "./lib/warehouse/docs.ts";
import { loadModels, ModelError } from "./lib/warehouse/models.ts";

async function main(): Promise<void> {
  try {
    const { models, singularTests } = await loadModels(resolve(PROJECT_ROOT, "models"));
    console.log(modelsMarkdown(models, singularTests));
  } catch (error) {
    if (error instanceof ModelError) throw new TaskError(error.message);
    throw error;
  }
}

if (import.meta.main) runTask("models:docs", main);
