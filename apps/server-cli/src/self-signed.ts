import { webcrypto, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { formatFingerprint } from "@ferry/protocol";

export interface TlsFiles {
  cert: string;
  key: string;
  fingerprint: string;
  /** True when this call made the certificate (first start). */
  created: boolean;
}

const CERT_FILE = "tls-cert.pem";
const KEY_FILE = "tls-key.pem";
const VALID_DAYS = 3650;

/**
 * `--tls auto`: the certificate and key kept in `stateDir`, made on first start. ECDSA P-256
 * (small, fast handshakes), valid ten years: clients pin its fingerprint, so expiry would only
 * force every client to re-trust it; rotate by deleting the two files.
 */
export async function ensureSelfSignedCertificate(stateDir: string): Promise<TlsFiles> {
  const cert = path.join(stateDir, CERT_FILE);
  const key = path.join(stateDir, KEY_FILE);
  const existing = await readFile(cert).catch(() => null);
  if (existing) return { cert, key, fingerprint: formatFingerprint(new X509Certificate(existing).fingerprint256), created: false };

  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  // Loaded only here: the X.509 writer (and the decorator metadata it needs) costs ~100 ms of
  // start-up that servers without `--tls auto` should not pay.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  // Node's WebCrypto is the provider; the DOM `Crypto` type it is declared against is not in our lib.
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${hostname().replace(/[,=+<>#;"\\]/g, "-")} ferry-server`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + VALID_DAYS * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "dns", value: hostname() },
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
  // Key first, owner-only, renamed into place so a crash never leaves a cert without its key.
  await writeFile(`${key}.new`, keyPem, { mode: 0o600 });
  await chmod(`${key}.new`, 0o600);
  await rename(`${key}.new`, key);
  const certPem = certificate.toString("pem");
  await writeFile(`${cert}.new`, certPem.endsWith("\n") ? certPem : `${certPem}\n`);
  await rename(`${cert}.new`, cert);
  return { cert, key, fingerprint: formatFingerprint(new X509Certificate(certPem).fingerprint256), created: true };
}
