/** Making lake files durable before anyone relies on them. */
import { dirname } from "node:path";

/** Flushes a file's or a folder's data and metadata to disk. */
export async function fsync(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Makes a fully written `temporary` file visible as `final`: fsync it, then, if `mayPublish()` still says yes, rename
 * it into place and fsync the folder. When it says no, the temporary file is removed and false returned.
 */
export async function publishFile(temporary: string, final: string, mayPublish: () => boolean): Promise<boolean> {
  await fsync(temporary);
  if (!mayPublish()) {
    await Deno.remove(temporary);
    return false;
  }
  await Deno.rename(temporary, final);
  await fsync(dirname(final));
  return true;
}
