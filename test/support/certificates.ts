import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as PEM files on disk (for redis-server) and as text (for Node). */
export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A throwaway certificate authority in a temp dir of its own, made with the `openssl` CLI. */
export interface TestCertificateAuthority extends IssuedCertificate {
  readonly dir: string;
  /** A server certificate for these subject alternative names, e.g. `['IP:127.0.0.1', 'DNS:redis.test']`. */
  issueServer(name: string, altNames: string[]): IssuedCertificate;
  /** A client certificate (for `tls-auth-clients yes`). */
  issueClient(name: string): IssuedCertificate;
  /** Removes the temp dir. */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the TLS tests need the openssl command (apt-get install -y openssl)', { cause: err });
    }
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${err instanceof Error ? err.message : String(err)}\n${stderr}`, {
      cause: err,
    });
  }
}

// EC P-256 keys: generated in milliseconds, unlike RSA.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a CA valid for a day (its key never leaves the temp dir). */
export function createCertificateAuthority(commonName: string): TestCertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'nrs-tls-'));
  const file = (name: string) => join(dir, name);
  const read = (name: string) => readFileSync(file(name), 'utf8');
  const slug = (name: string) => name.replace(/[^a-z0-9]+/gi, '-');
  try {
    openssl(['req', '-x509', ...NEW_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${commonName}`], dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const issue = (name: string, extensions: string): IssuedCertificate => {
    const base = slug(name);
    writeFileSync(file(`${base}.ext`), extensions);
    openssl(['req', ...NEW_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${base}.crt`,
        '-days',
        '1',
        '-extfile',
        `${base}.ext`,
      ],
      dir,
    );
    return { certFile: file(`${base}.crt`), keyFile: file(`${base}.key`), cert: read(`${base}.crt`), key: read(`${base}.key`) };
  };
  return {
    dir,
    certFile: file('ca.crt'),
    keyFile: file('ca.key'),
    cert: read('ca.crt'),
    key: read('ca.key'),
    issueServer: (name, altNames) =>
      issue(name, `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`),
    issueClient: (name) => issue(name, 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
