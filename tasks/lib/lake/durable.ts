/** Making lake files durable before anyone relies on them. */

/** Flushes a file's or a folder's data and metadata to disk. */
export async function fsync(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}
