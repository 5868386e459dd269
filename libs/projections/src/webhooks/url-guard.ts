/**
 * Which webhook URLs Cairn calls (SSRF guard). Checked when an endpoint is registered and again on
 * every connection, on the address the name resolves to then (a name that later resolves to a
 * refused address — DNS rebinding — is refused at connect time, not only at registration).
 *
 * Always refused: link-local (169.254.0.0/16, fe80::/10; the cloud metadata services at
 * 169.254.169.254 and fd00:ec2::254 with them), the unspecified and multicast addresses, names
 * that are metadata services (metadata.google.internal, metadata). Under the `strict` policy (the
 * default) the URL must be https, must resolve, and loopback is refused; `dev` allows http,
 * loopback and names that do not resolve (yet), for a receiver on the same machine.
 */
import { lookup as dnsLookup, type LookupAddress } from 'dns';
import { BlockList, isIP } from 'net';

export type WebhookUrlPolicy = 'strict' | 'dev';

const ALWAYS_REFUSED = new BlockList();
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, AWS/GCP/Azure metadata
ALWAYS_REFUSED.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", the unspecified address
ALWAYS_REFUSED.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
ALWAYS_REFUSED.addSubnet('255.255.255.255', 32, 'ipv4');
ALWAYS_REFUSED.addSubnet('100.100.100.200', 32, 'ipv4'); // Alibaba Cloud metadata
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6'); // link-local
ALWAYS_REFUSED.addSubnet('fd00:ec2::254', 128, 'ipv6'); // AWS metadata over IPv6
ALWAYS_REFUSED.addSubnet('ff00::', 8, 'ipv6'); // multicast
ALWAYS_REFUSED.addAddress('::', 'ipv6');
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'metadata.azure.internal', 'instance-data', 'instance-data.ec2.internal']);

/** Why an address may not be called, or null. IPv4-mapped IPv6 addresses are judged as IPv4. */
export function refusedAddress(address: string, policy: WebhookUrlPolicy): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (ALWAYS_REFUSED.check(ip, family)) return `${address} is a link-local, metadata, unspecified or multicast address`;
  if (policy === 'strict' && LOOPBACK.check(ip, family)) return `${address} is a loopback address (allowed only with CAIRN_WEBHOOK_URLS=dev)`;
  return null;
}

/** Parses and checks a URL's form (scheme, host); the address is checked by `checkWebhookUrl`/`guardedLookup`. */
export function webhookUrlProblem(raw: unknown, policy: WebhookUrlPolicy): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return 'must be a URL of at most 2,000 characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy === 'dev' && url.protocol === 'http:')) return policy === 'dev' ? 'must be http or https' : 'must be https (http only with CAIRN_WEBHOOK_URLS=dev)';
  if (url.username || url.password) return 'must not carry credentials (the signature authenticates Cairn)';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (METADATA_NAMES.has(host)) return `${host} is a cloud metadata service`;
  if (isIP(host)) return refusedAddress(host, policy);
  return null;
}

function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
}

/** The URL's form and every address its name resolves to now; null when it may be registered. */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<string | null> {
  const problem = webhookUrlProblem(raw, policy);
  if (problem) return problem;
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return null;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host);
  } catch {
    return policy === 'dev' ? null : `${host} does not resolve (unresolvable names only with CAIRN_WEBHOOK_URLS=dev)`;
  }
  for (const a of addresses) {
    const refused = refusedAddress(a.address, policy);
    if (refused) return `${host} resolves to ${refused}`;
  }
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that refuses the addresses above at connect time. */
export function guardedLookup(policy: WebhookUrlPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true } as never, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (err) return callback(err, [] as LookupAddress[]);
      for (const a of addresses) {
        const refused = refusedAddress(a.address, policy);
        if (refused) return callback(Object.assign(new Error(`refused: ${refused}`), { code: 'CAIRN_REFUSED_ADDRESS' }), [] as LookupAddress[]);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
