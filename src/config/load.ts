/**
 * @module Reads one or more `-c` paths into a validated `Config`.
 *
 * `-c` may be repeated and may name a directory (its `*.yaml` files in name order). Files are merged as Synapse
 * merges them: top-level keys of later files replace earlier ones whole, which is how NixOS's `extraConfigFiles`
 * add a secret without repeating the rest.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { Config } from "./schema.js";
import {
  ConfigError,
  errorMessage,
  isPlainObject,
  validateConfig,
  type ConfigProblem,
  type KeyOrigins,
  type RawConfig,
} from "./validate.js";

export interface LoadedConfig {
  config: Config;
  /** Every file that was read, in merge order. */
  files: string[];
  warnings: ConfigProblem[];
}

export interface MergedRaw {
  raw: RawConfig;
  origins: KeyOrigins;
  files: string[];
  warnings: ConfigProblem[];
}

/** Expands directories, parses every file and merges them. Throws `ConfigError` listing every unreadable file. */
export function readConfigFiles(paths: string[]): MergedRaw {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const files: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      problems.push({ file: p, key: "(file)", message: `cannot read: ${errorMessage(err)}` });
      continue;
    }
    if (isDir) {
      const entries = readdirSync(p)
        .filter((f) => f.endsWith(".yaml"))
        .sort();
      if (entries.length === 0) warnings.push({ file: p, key: "(directory)", message: "holds no *.yaml files" });
      files.push(...entries.map((f) => join(p, f)));
    } else {
      files.push(p);
    }
  }
  const raw: RawConfig = {};
  const origins: KeyOrigins = new Map();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      problems.push({ file, key: "(file)", message: `cannot read: ${errorMessage(err)}` });
      continue;
    }
    // prettyErrors is what gives each error its line (linePos).
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = e.linePos?.[0];
        problems.push({
          file,
          key: line ? `line ${line.line}` : "(yaml)",
          message: `not valid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
        });
      }
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) {
      warnings.push({ file, key: "(file)", message: "is empty" });
      continue;
    }
    if (!isPlainObject(value)) {
      problems.push({ file, key: "(file)", message: "does not hold a mapping of keys to values" });
      continue;
    }
    for (const [k, v] of Object.entries(value)) {
      raw[k] = v;
      origins.set(k, file);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { raw, origins, files, warnings };
}

export function loadConfig(paths: string[]): LoadedConfig {
  const merged = readConfigFiles(paths);
  const { config, warnings } = validateConfig(merged.raw, merged.origins, {
    readSecretFile: (p) => readFileSync(resolve(p), "utf8"),
    files: merged.files,
  });
  return {
    config,
    files: merged.files,
    warnings: [
      ...merged.warnings,
      ...warnings,
      ...secretPermissionWarnings(config),
      ...signingKeyPermissionWarnings(config),
    ],
  };
}

/** True when group or others may read the file: where a secret must not sit. */
export function isReadableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

export function secretPermissionWarnings(config: Config): ConfigProblem[] {
  const source = config.registration_shared_secret_source;
  if (source.kind === "inline" && isReadableByOthers(source.file)) {
    return [
      {
        file: source.file,
        key: "registration_shared_secret",
        message:
          "this file holds the shared secret inline and is readable by group or others; anyone who reads it can " +
          "create admin accounts. Move the secret to a file of its own (chmod 600) and point " +
          "registration_shared_secret_path at it",
      },
    ];
  }
  if (source.kind === "path" && isReadableByOthers(source.path)) {
    return [
      {
        file: source.path,
        key: "registration_shared_secret_path",
        message: `the secret file is readable by group or others; run: chmod 600 ${source.path}`,
      },
    ];
  }
  return [];
}

/** Synapse does not refuse a key file others can read, and neither does Gatehouse; it says so. */
export function signingKeyPermissionWarnings(config: Config): ConfigProblem[] {
  const path = config.signing_key_path;
  if (path === null || !isReadableByOthers(path)) return [];
  return [
    {
      file: path,
      key: "signing_key_path",
      message: `the signing key is readable by group or others; anyone who reads it can sign as this server. Run: chmod 600 ${path}`,
    },
  ];
}
