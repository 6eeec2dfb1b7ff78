/**
 * @module The media repository's keys (Synapse's names and defaults, `synapse/config/repository.py`): storage,
 * upload limits, async uploads, thumbnails and URL previews. It and validate.ts import each other, so neither may
 * use the other's exports while it is being loaded, only when called.
 */
import { dirname, join, resolve } from "node:path";
import { DEFAULT_THUMBNAIL_SIZES } from "./schema.js";
import { parseIpRange } from "./ip-ranges.js";
import type { DatabaseConfig, MediaConfig, MediaUploadLimit, ThumbnailSize } from "./schema.js";
import { describe, isPlainObject, readDuration, readRateLimit, type RawConfig, type Reader } from "./validate.js";

export const MEDIA_KEYS = [
  "media_store_path",
  "max_upload_size",
  "enable_authenticated_media",
  "max_pending_media_uploads",
  "unused_expiration_time",
  "media_upload_limits",
  "rc_media_create",
  "dynamic_thumbnails",
  "thumbnail_sizes",
  "max_image_pixels",
  "url_preview_enabled",
  "url_preview_ip_range_blacklist",
  "url_preview_ip_range_whitelist",
  "url_preview_url_blacklist",
  "url_preview_accept_language",
  "max_spider_size",
];

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Synapse's sizes: a number of bytes, or a string such as "50M" (K, M, G, T: powers of 1024). */
export function readSize(r: Reader, obj: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string") {
    const m = /^(\d+)([KMGT]?)$/i.exec(v.trim());
    if (m) return Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  }
  r.problem(path, `must be a size such as 50M, 512K or 2G, or a number of bytes (got ${describe(v)})`);
  return fallback;
}

function stringList(r: Reader, raw: RawConfig, key: string): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    r.problem(key, "must be a list of strings");
    return [];
  }
  return v;
}

/**
 * `media_store_path` unset: `media_store` beside the SQLite database file, else beside the last config file (where
 * generate-config puts both); null only for a config validated without any file and with PostgreSQL (tests,
 * benchmarks), whose server stores media in a directory made for the process.
 */
function defaultStorePath(database: DatabaseConfig | null, files: string[]): string | null {
  if (database?.name === "sqlite3" && database.args.database !== ":memory:") {
    return join(dirname(resolve(database.args.database)), "media_store");
  }
  const last = files.at(-1);
  return last === undefined ? null : join(dirname(resolve(last)), "media_store");
}

export function readMediaConfig(
  r: Reader,
  raw: RawConfig,
  database: DatabaseConfig | null,
  files: string[],
): MediaConfig {
  const given = r.string(raw, "media_store_path", "media_store_path", null);
  if (given !== null && given.trim() === "") r.problem("media_store_path", "must not be empty");
  const expiration =
    readDuration(r, raw, "unused_expiration_time", "unused_expiration_time", 24 * 3_600_000) ?? 24 * 3_600_000;
  if (expiration < 1000) r.problem("unused_expiration_time", "must be at least 1s");
  const urlPreviewEnabled = r.bool(raw, "url_preview_enabled", "url_preview_enabled", false);
  const ipBlacklist = ipRanges(r, raw, "url_preview_ip_range_blacklist");
  if (urlPreviewEnabled && raw.url_preview_ip_range_blacklist === undefined) {
    // Synapse's start-up check: previews fetch any URL a user names, so the operator must say what is off limits.
    r.problem(
      "url_preview_ip_range_blacklist",
      "must be set when url_preview_enabled is true: for security, list the IP ranges previews may never fetch",
    );
  }
  return {
    media_store_path: given !== null && given.trim() !== "" ? resolve(given) : defaultStorePath(database, files),
    max_upload_size: readSize(r, raw, "max_upload_size", "max_upload_size", 50 * 1024 ** 2),
    enable_authenticated_media: r.bool(raw, "enable_authenticated_media", "enable_authenticated_media", true),
    max_pending_media_uploads:
      r.int(raw, "max_pending_media_uploads", "max_pending_media_uploads", 5, [1, 1_000_000]) ?? 5,
    unused_expiration_time: expiration,
    media_upload_limits: readUploadLimits(r, raw),
    rc_media_create: readRateLimit(r, raw, "rc_media_create", "rc_media_create", { per_second: 10, burst_count: 50 }),
    dynamic_thumbnails: r.bool(raw, "dynamic_thumbnails", "dynamic_thumbnails", false),
    thumbnail_sizes: readThumbnailSizes(r, raw),
    max_image_pixels: readSize(r, raw, "max_image_pixels", "max_image_pixels", 32 * 1024 ** 2),
    url_preview_enabled: urlPreviewEnabled,
    url_preview_ip_range_blacklist: ipBlacklist,
    url_preview_ip_range_whitelist: ipRanges(r, raw, "url_preview_ip_range_whitelist"),
    url_preview_url_blacklist: readUrlBlacklist(r, raw),
    url_preview_accept_language: raw.url_preview_accept_language
      ? stringList(r, raw, "url_preview_accept_language")
      : ["en"],
    max_spider_size: readSize(r, raw, "max_spider_size", "max_spider_size", 10 * 1024 ** 2),
  };
}

/** A list of IP ranges; one that does not parse is a problem (a typo must not leave a range open). */
function ipRanges(r: Reader, raw: RawConfig, key: string): string[] {
  const list = stringList(r, raw, key);
  list.forEach((text, i) => {
    if (parseIpRange(text) === null) r.problem(`${key}[${i}]`, `is not an IP address or CIDR range (got ${text})`);
  });
  return list;
}

/** Synapse's `media_upload_limits`: a list of `{time_period, max_size}`. */
function readUploadLimits(r: Reader, raw: RawConfig): MediaUploadLimit[] {
  const v = raw.media_upload_limits;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    r.problem("media_upload_limits", `must be a list (got ${describe(v)})`);
    return [];
  }
  const out: MediaUploadLimit[] = [];
  v.forEach((entry: unknown, i) => {
    const p = `media_upload_limits[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(p, `must be a mapping with time_period and max_size (got ${describe(entry)})`);
      return;
    }
    r.checkKeys(entry, ["time_period", "max_size"], p);
    if (entry.time_period === undefined || entry.max_size === undefined) {
      r.problem(p, "needs both time_period and max_size");
      return;
    }
    const period = readDuration(r, entry, "time_period", `${p}.time_period`, null);
    const size = readSize(r, entry, "max_size", `${p}.max_size`, 0);
    if (period !== null && period > 0) out.push({ time_period_ms: period, max_bytes: size });
    else if (period !== null) r.problem(`${p}.time_period`, "must be longer than 0");
  });
  // Longest period first, as Synapse checks them: a user under the longest period's limit rarely needs another query.
  return out.sort((a, b) => b.time_period_ms - a.time_period_ms);
}

function readThumbnailSizes(r: Reader, raw: RawConfig): ThumbnailSize[] {
  const v = raw.thumbnail_sizes;
  if (v === undefined || v === null) return DEFAULT_THUMBNAIL_SIZES;
  if (!Array.isArray(v)) {
    r.problem("thumbnail_sizes", `must be a list (got ${describe(v)})`);
    return DEFAULT_THUMBNAIL_SIZES;
  }
  const out: ThumbnailSize[] = [];
  v.forEach((entry: unknown, i) => {
    const p = `thumbnail_sizes[${i}]`;
    if (!isPlainObject(entry)) {
      r.problem(p, `must be a mapping with width, height and method (got ${describe(entry)})`);
      return;
    }
    r.checkKeys(entry, ["width", "height", "method"], p);
    const width = r.int(entry, "width", `${p}.width`, null, [1, 10_000]);
    const height = r.int(entry, "height", `${p}.height`, null, [1, 10_000]);
    const method = r.string(entry, "method", `${p}.method`, "scale") ?? "scale";
    if (method !== "crop" && method !== "scale") r.problem(`${p}.method`, "must be crop or scale");
    else if (width === null || height === null) r.problem(p, "needs width and height");
    else out.push({ width, height, method });
  });
  return out;
}

/** The components of Python's `urlsplit` a `url_preview_url_blacklist` entry may match. */
const URL_COMPONENTS = ["scheme", "netloc", "path", "query", "fragment", "username", "password", "hostname", "port"];

/** Synapse's `url_preview_url_blacklist`: a list of mappings from URL component to glob (or `^regex`). */
function readUrlBlacklist(r: Reader, raw: RawConfig): Record<string, string>[] {
  const v = raw.url_preview_url_blacklist;
  if (v === undefined || v === null) return [];
  const entries: unknown[] = Array.isArray(v) ? v : [];
  if (
    !Array.isArray(v) ||
    !entries.every((e) => isPlainObject(e) && Object.values(e).every((x) => typeof x === "string"))
  ) {
    r.problem("url_preview_url_blacklist", "must be a list of mappings from URL component to pattern");
    return [];
  }
  entries.forEach((entry, i) => {
    for (const [component, pattern] of Object.entries(entry as Record<string, string>)) {
      if (!URL_COMPONENTS.includes(component)) {
        r.problem(
          `url_preview_url_blacklist[${i}].${component}`,
          `is not a URL component (${URL_COMPONENTS.join(", ")})`,
        );
      } else if (pattern.startsWith("^")) {
        try {
          new RegExp(pattern);
        } catch {
          r.problem(`url_preview_url_blacklist[${i}].${component}`, "is not a valid regular expression");
        }
      }
    }
  });
  return entries as Record<string, string>[];
}
