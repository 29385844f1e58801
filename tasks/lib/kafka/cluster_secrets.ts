/**
 * The local secure cluster's secrets, made once into KAFKA_SECRETS_DIR (default `data/secrets/kafka/`) and reused
 * on every start: a CA, one broker certificate it signed (for localhost and 127.0.0.1, used by every local node),
 * the keystore and truststore the brokers read, and a random password per Kafka user. Nothing here is checked in
 * (`data/` is ignored); the folder and its files are readable by their owner only.
 *
 * Certificates come from the JDK's own `keytool`, which every machine that runs the brokers has; store passwords
 * reach it through its environment, never its command line, so `ps` shows none of them.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TaskError } from "../cli.ts";
import { Secret } from "../secrets.ts";

/** The principals of the local secure cluster: who may do what is in acls.ts. */
export const KAFKA_USERS = ["admin", "producer", "consumer"] as const;

/** A user the pipeline's tasks log in as. */
export type KafkaUser = typeof KAFKA_USERS[number];

/** The brokers' own principal: their SCRAM login between brokers and the CN of their certificate (controllers). */
export const BROKER_USER = "kafka-broker";

/** The files of a secrets folder. */
export function secretFiles(dir: string) {
  return {
    ca: join(dir, "ca.pem"),
    caKeystore: join(dir, "ca.p12"),
    brokerKeystore: join(dir, "broker.p12"),
    truststore: join(dir, "truststore.p12"),
    storePassword: join(dir, "store.password"),
    password: (user: KafkaUser | typeof BROKER_USER) => join(dir, `${user}.password`),
    /** Written last: a folder without it was interrupted and is made again. */
    complete: join(dir, "complete"),
  };
}

/** What the brokers and the set-up need, loaded from a secrets folder. */
export interface ClusterSecrets {
  dir: string;
  caFile: string;
  brokerKeystore: string;
  truststore: string;
  storePassword: Secret;
  passwords: Record<KafkaUser | typeof BROKER_USER, Secret>;
}

/**
 * The secrets in `dir`, made first when the folder does not hold a complete set. `subject` names the CA (tests make
 * a second, unrelated one to check that clients refuse it).
 */
export async function ensureClusterSecrets(
  dir: string,
  log: (line: string) => void = console.log,
  subject = "crypto-pipeline local Kafka CA",
): Promise<ClusterSecrets> {
  const files = secretFiles(dir);
  if (!existsSync(files.complete)) {
    log(`Making the secure cluster's CA, broker certificate and user passwords in ${dir} (once) …`);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    for (const user of [...KAFKA_USERS, BROKER_USER] as const) {
      await writePrivate(files.password(user), randomPassword());
    }
    await writePrivate(files.storePassword, randomPassword());
    await makeCertificates(dir, subject);
    await writePrivate(files.complete, `${new Date().toISOString()}\n`);
  }
  const read = async (path: string) => new Secret((await Deno.readTextFile(path)).trim());
  const passwords = {} as Record<KafkaUser | typeof BROKER_USER, Secret>;
  for (const user of [...KAFKA_USERS, BROKER_USER] as const) passwords[user] = await read(files.password(user));
  return {
    dir,
    caFile: files.ca,
    brokerKeystore: files.brokerKeystore,
    truststore: files.truststore,
    storePassword: await read(files.storePassword),
    passwords,
  };
}

/** The CA, the broker's key and certificate signed by it (server and client use), and the truststore. */
async function makeCertificates(dir: string, subject: string): Promise<void> {
  const files = secretFiles(dir);
  const storePassword = (await Deno.readTextFile(files.storePassword)).trim();
  const store = ["-storetype", "PKCS12", "-storepass:env", "STORE_PASSWORD"];
  const keytool = (purpose: string, ...args: string[]) => runKeytool(args, storePassword, purpose);
  const san = "SAN=dns:localhost,ip:127.0.0.1";

  await keytool(
    "make the CA",
    ...["-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "3650"],
    ...["-dname", `CN=${subject}`, "-ext", "bc:c", "-ext", "ku:c=keyCertSign,cRLSign"],
    ...["-keystore", files.caKeystore, ...store],
  );
  await keytool(
    "export the CA",
    ...["-exportcert", "-rfc", "-alias", "ca", "-file", files.ca, "-keystore", files.caKeystore, ...store],
  );
  await keytool(
    "make the broker key",
    ...["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "825"],
    ...["-dname", `CN=${BROKER_USER}`, "-ext", san, "-keystore", files.brokerKeystore, ...store],
  );
  const request = join(dir, "broker.csr");
  const signed = join(dir, "broker.pem");
  await keytool(
    "request the broker certificate",
    ...["-certreq", "-alias", "broker", "-file", request, "-keystore", files.brokerKeystore, ...store],
  );
  await keytool(
    "sign the broker certificate",
    ...["-gencert", "-alias", "ca", "-infile", request, "-outfile", signed, "-rfc", "-validity", "825"],
    ...["-ext", san, "-ext", "ku:c=digitalSignature,keyEncipherment", "-ext", "eku=serverAuth,clientAuth"],
    ...["-keystore", files.caKeystore, ...store],
  );
  await keytool(
    "trust the CA in the broker keystore",
    ...["-importcert", "-noprompt", "-alias", "ca", "-file", files.ca, "-keystore", files.brokerKeystore, ...store],
  );
  await keytool(
    "install the broker certificate",
    ...["-importcert", "-alias", "broker", "-file", signed, "-keystore", files.brokerKeystore, ...store],
  );
  await keytool(
    "make the truststore",
    ...["-importcert", "-noprompt", "-alias", "ca", "-file", files.ca, "-keystore", files.truststore, ...store],
  );
  await Deno.remove(request);
  await Deno.remove(signed);
  for (const file of [files.ca, files.caKeystore, files.brokerKeystore, files.truststore]) {
    await Deno.chmod(file, 0o600);
  }
}

async function runKeytool(args: string[], storePassword: string, purpose: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("keytool", {
      args,
      env: { STORE_PASSWORD: storePassword },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TaskError("Cannot make the secure cluster's certificates: keytool (from the JDK) is not on PATH");
    }
    throw error;
  }
  if (!output.success) {
    const text = (new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr)).trim();
    throw new TaskError(`Cannot ${purpose}: keytool exited with code ${output.code}: ${text.split("\n")[0]}`);
  }
}

/** 24 random bytes, URL-safe base64: no character a properties file or a JAAS string would need to escape. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

async function writePrivate(path: string, content: string): Promise<void> {
  await Deno.writeTextFile(path, content.endsWith("\n") ? content : `${content}\n`, { mode: 0o600 });
}
