/** Where the project's own files are, whatever the working directory. */
import { resolve } from "node:path";

/** The folder holding deno.json. */
export const PROJECT_ROOT = resolve(import.meta.dirname!, "../..");

/** Installed tools and resolved jars; never committed, safe to delete. */
export const CACHE_DIR = resolve(PROJECT_ROOT, ".cache");
