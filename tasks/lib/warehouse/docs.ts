/** The models' documentation: the lineage graph (mermaid) and each model's columns. Pure. */
import type { Model, SingularTest } from "./models.ts";

/** A mermaid flowchart of which model reads which. */
export function lineageMermaid(models: readonly Model[]): string {
  const lines = ["```mermaid", "flowchart LR"];
  for (const model of models) {
    lines.push(`  ${nodeId(model.id)}["${model.id}<br/>${model.materialized}"]`);
  }
  for (const model of models) {
    for (const dependency of model.dependsOn) lines.push(`  ${nodeId(dependency)} --> ${nodeId(model.id)}`);
  }
  lines.push("```");
  return lines.join("\n");
}

/** Markdown: the lineage, then each model with its materialization, description, columns and tests. */
export function modelsMarkdown(models: readonly Model[], singularTests: readonly SingularTest[]): string {
  const sections = ["# Models", "", lineageMermaid(models)];
  for (const model of models) {
    const how = model.materialized === "incremental"
      ? `incremental on \`${model.incrementalColumn}\``
      : model.materialized;
    sections.push(
      "",
      `## ${model.id} (${how})`,
      "",
      model.description,
      "",
      "| column | description |",
      "| --- | --- |",
    );
    for (const column of model.columns) sections.push(`| \`${column.name}\` | ${column.description} |`);
    if (model.tests.length > 0) {
      sections.push("", `Tests: ${model.tests.map((test) => test.kind).join(", ")}.`);
    }
  }
  if (singularTests.length > 0) {
    sections.push("", "## Singular tests", "");
    for (const test of singularTests) sections.push(`- \`${test.name}\` (reads ${test.dependsOn.join(", ")})`);
  }
  return sections.join("\n") + "\n";
}

function nodeId(id: string): string {
  return id.replace(".", "_");
}
