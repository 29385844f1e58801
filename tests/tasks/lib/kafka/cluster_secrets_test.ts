import assert from "node:assert/strict";
import { ensureClusterSecrets, KAFKA_USERS, secretFiles } from "../../../../tasks/lib/kafka/cluster_secrets.ts";
import { makeTestDir } from "../../../helpers/tasks.ts";

Deno.test("ensureClusterSecrets(): a CA, a broker certificate for localhost signed by it, owner-only files, made once", async () => {
  const dir = `${await makeTestDir("secrets")}/kafka`;
  try {
    const lines: string[] = [];
    const first = await ensureClusterSecrets(dir, (line) => lines.push(line));
    assert.equal(lines.length, 1);
    const files = secretFiles(dir);
    assert.match(await Deno.readTextFile(files.ca), /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    for (const user of KAFKA_USERS) {
      assert.equal((await Deno.stat(files.password(user))).mode! & 0o777, 0o600);
      assert.ok(first.passwords[user].reveal().length >= 32);
    }
    assert.notEqual(first.passwords.producer.reveal(), first.passwords.consumer.reveal());
    // The broker's certificate chains to the CA and names localhost and 127.0.0.1 (keytool prints the chain).
    const list = await new Deno.Command("keytool", {
      args: ["-list", "-v", "-keystore", files.brokerKeystore, "-storepass:env", "P", "-alias", "broker"],
      env: { P: first.storePassword.reveal() },
    }).output();
    const text = new TextDecoder().decode(list.stdout);
    assert.match(text, /Certificate chain length: 2/);
    assert.match(text, /DNSName: localhost/);
    assert.match(text, /IPAddress: 127\.0\.0\.1/);

    const again = await ensureClusterSecrets(dir, (line) => lines.push(line));
    assert.equal(lines.length, 1, "reused, not made again");
    assert.equal(again.passwords.admin.reveal(), first.passwords.admin.reveal());
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
