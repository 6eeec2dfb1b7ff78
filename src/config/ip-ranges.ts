/**
 * @module IP ranges as Synapse's config writes them (`url_preview_ip_range_blacklist` and `…_whitelist`): CIDR
 * (`10.0.0.0/8`, `fe80::/10`) or a single address. Parsed here so a typo fails at start-up, not at fetch time.
 */
import { isIP } from "node:net";

export interface IpRange {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** The range `text` names, or null when it is not an address or CIDR range. */
export function parseIpRange(text: string): IpRange | null {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}
