/**
 * @module Which URLs and addresses a URL preview may fetch, from the configuration.
 *
 * Addresses: refused when in `url_preview_ip_range_blacklist` or in `ALWAYS_REFUSED` (the unspecified, loopback,
 * private, link-local and other special ranges of Synapse's sample blacklist, refused even if the operator's list
 * forgets them), unless in `url_preview_ip_range_whitelist`, which wins as in Synapse. IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1`) are checked as the IPv4 address they are.
 *
 * URLs: `url_preview_url_blacklist` entries as Synapse matches them: an entry blocks a URL when every one of its
 * components (`scheme`, `netloc`, `hostname`, `port`, `path`, `query`, `fragment`, `username`, `password`) matches
 * its pattern, a glob or, starting with `^`, a regular expression matched from the start.
 */
import { BlockList } from "node:net";
import { parseIpRange } from "../config/ip-ranges.js";
import type { MediaConfig } from "../config/schema.js";

/** Synapse's sample `url_preview_ip_range_blacklist`, plus the unspecified addresses Synapse always adds. */
export const ALWAYS_REFUSED: readonly string[] = [
  "0.0.0.0/8",
  "127.0.0.0/8",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "192.0.0.0/24",
  "169.254.0.0/16",
  "192.88.99.0/24",
  "198.18.0.0/15",
  "192.0.2.0/24",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "::/128",
  "::1/128",
  "fe80::/10",
  "fc00::/7",
  "2001:db8::/32",
  "ff00::/8",
  "fec0::/10",
];

export interface PreviewPolicy {
  blocked: BlockList;
  allowed: BlockList;
  urlBlacklist: { component: string; match: (value: string) => boolean }[][];
  acceptLanguage: string;
  maxBytes: number;
  timeoutMs: number;
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of ranges) {
    const range = parseIpRange(text);
    // The configuration was validated at load: an unparsable range cannot reach here.
    if (range) list.addSubnet(range.address, range.prefix, range.family);
  }
  return list;
}

/** Python's `fnmatch` pattern as a regular expression over the whole value. */
function globRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) out += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${out})$`, "s");
}

function matcher(pattern: string): (value: string) => boolean {
  const re = pattern.startsWith("^") ? new RegExp(pattern) : globRegExp(pattern);
  return (value) => re.test(value);
}

/** The `url_preview_url_blacklist` component of a URL as Python's `urlsplit` gives it, or null when absent. */
function component(url: URL, name: string): string | null {
  const user = url.username ? decodeURIComponent(url.username) : null;
  switch (name) {
    case "scheme":
      return url.protocol.slice(0, -1);
    case "netloc":
      return (url.username ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "") + url.host;
    case "hostname":
      return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    case "port":
      return url.port || null;
    case "path":
      return url.pathname;
    case "query":
      return url.search.slice(1);
    case "fragment":
      return url.hash.slice(1);
    case "username":
      return user;
    case "password":
      return url.password ? decodeURIComponent(url.password) : null;
    default:
      return null;
  }
}

export function previewPolicy(config: MediaConfig, timeoutMs: number): PreviewPolicy {
  return {
    blocked: blockList([...ALWAYS_REFUSED, ...config.url_preview_ip_range_blacklist]),
    allowed: blockList(config.url_preview_ip_range_whitelist),
    urlBlacklist: config.url_preview_url_blacklist.map((entry) =>
      Object.entries(entry).map(([name, pattern]) => ({ component: name, match: matcher(pattern) })),
    ),
    acceptLanguage: config.url_preview_accept_language.join(", "),
    maxBytes: config.max_spider_size,
    timeoutMs,
  };
}

/** Whether a preview may connect to `address` (an IPv4 or IPv6 literal). */
export function addressAllowed(policy: PreviewPolicy, address: string): boolean {
  const family = address.includes(":") ? "ipv6" : "ipv4";
  return policy.allowed.check(address, family) || !policy.blocked.check(address, family);
}

export function urlBlacklisted(policy: PreviewPolicy, url: URL): boolean {
  return policy.urlBlacklist.some((entry) =>
    entry.every(({ component: name, match }) => {
      const value = component(url, name);
      return value !== null && match(value);
    }),
  );
}
