/**
 * What counts as a credential, wherever it appears, and how it is hidden. Two kinds:
 * a value whose key names a secret (NATS_PASSWORD, GF_SECURITY_ADMIN_PASSWORD, …), and the
 * password part of a URL's user information (`nats://bob:s3cret@nats:4222`), in any value.
 * Every output path (--explain, --dry-run, error lines, reports) goes through these.
 */

/** Keys whose values are credentials: masked in output, and they make an output file 0600. */
const SECRET_KEY = /(PASSWORD|PASSWD|PASS|SECRET|TOKEN|PRIVATE_KEY|CREDENTIALS|CREDS)$/i;

/**
 * `scheme://user:password@host`: the password runs to the `@` after which the URL has no other
 * `@` before its end (whitespace, a comma or the end of the text), so a password holding an
 * unencoded `@`, `#`, `?`, `/` or a space is still hidden whole, as a client reading the URL
 * takes it.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)(.+?)@(?=[^\s@,]*(?:$|[\s,]))/gi;

/** `nats://token@host`: NATS reads user information without a colon as a token. */
const URL_TOKEN = /\b((?:nats|tls|ws|wss):\/\/)([^\s:/?#@]+)@(?=[^\s@,]*(?:$|[\s,]))/gi;

/** The mask that replaces a credential. */
export const MASK = '***';

/** True when `key` names a credential (by its ending: …PASSWORD, …TOKEN, …SECRET, …). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** True when `text` holds a URL with a password (or a NATS token) in its user information. */
export function hasUrlPassword(text: string): boolean {
  return maskUrlPasswords(text) !== text;
}

/**
 * A port and then more text (`nats://nats:4222 as bob@x`) is a host and port followed by prose,
 * not user information: left alone.
 */
const PORT_THEN_TEXT = /^\d+[\s/]/;

/** `text` with the password (or NATS token) of every URL replaced: `nats://bob:***@nats:4222`. */
export function maskUrlPasswords(text: string): string {
  return text
    .replace(URL_PASSWORD, (match, head: string, password: string) => (PORT_THEN_TEXT.test(password) ? match : `${head}${MASK}@`))
    .replace(URL_TOKEN, (_match, head: string) => `${head}${MASK}@`);
}

/** True when a value, under this key, is a credential or holds one. */
export function isCredential(key: string, value: string): boolean {
  return (isSecretKey(key) && value !== '') || hasUrlPassword(value);
}

/** Plain YAML/JSON data: what compose documents and Helm values are made of. */
type Data = string | number | boolean | null | Data[] | { [key: string]: Data };

/**
 * A copy of `value` with every credential masked: map entries and `KEY=value` list entries
 * whose key names a secret (the whole value), and URL passwords in any string.
 */
export function maskCredentials<T>(value: T): T {
  return maskData(value as Data) as T;
}

function maskData(value: Data): Data {
  if (typeof value === 'string') {
    const eq = value.indexOf('=');
    if (eq > 0 && isSecretKey(value.slice(0, eq)) && value.length > eq + 1) return `${value.slice(0, eq + 1)}${MASK}`;
    return maskUrlPasswords(value);
  }
  if (Array.isArray(value)) return value.map(maskData);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && v !== '' && isSecretKey(k) ? MASK : maskData(v)]));
  }
  return value;
}

/** True when any string of `value` (or any map entry by its key) is a credential. */
export function containsCredentials(value: unknown): boolean {
  if (typeof value === 'string') {
    const eq = value.indexOf('=');
    return (eq > 0 && isSecretKey(value.slice(0, eq)) && value.length > eq + 1) || hasUrlPassword(value);
  }
  if (Array.isArray(value)) return value.some(containsCredentials);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => (typeof v === 'string' && isCredential(k, v)) || containsCredentials(v));
  }
  return false;
}

/** Flags whose value is a credential: it shows in `ps` and /proc/<pid>/cmdline to every user. */
export const SECRET_FLAGS = ['password', 'token'] as const;

/** The one-line warning for a credential given as a flag, naming the safer forms. */
export function secretFlagWarning(flag: string, safer: string): string {
  return `warning: --${flag} puts the value on the command line, where other users of this host can read it (ps, /proc/<pid>/cmdline); prefer ${safer}`;
}
