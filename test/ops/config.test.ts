/**
 * The configuration keys for operations: `workers` and `enable_metrics`, their defaults and their errors.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, validateConfig, type RawConfig } from "../../src/config/validate.js";

const BASE: RawConfig = {
  server_name: "example.com",
  database: { name: "sqlite3", args: { database: "/tmp/x.db" } },
  listeners: [{ port: 8008, type: "http", resources: [{ names: ["client"] }] }],
};

function validate(extra: RawConfig) {
  const raw = { ...BASE, ...extra };
  return validateConfig(raw, new Map(Object.keys(raw).map((k) => [k, "homeserver.yaml"])), {
    readSecretFile: () => "s",
  });
}

function problems(extra: RawConfig): string[] {
  try {
    validate(extra);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
  return [];
}

describe("workers and enable_metrics", () => {
  it("default to one process and no metrics, with no warning", () => {
    const { config, warnings } = validate({});
    expect(config.workers).toBe(1);
    expect(config.enable_metrics).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("accept what an operator writes", () => {
    const { config } = validate({
      workers: 4,
      enable_metrics: true,
      listeners: [{ port: 9000, type: "metrics", bind_addresses: ["127.0.0.1"] }],
    });
    expect(config.workers).toBe(4);
    expect(config.enable_metrics).toBe(true);
    expect(config.listeners[0]!.type).toBe("metrics");
  });

  it("report a bad value with its key", () => {
    expect(problems({ workers: 0 })).toEqual(["workers: must be between 1 and 256 (got 0)"]);
    expect(problems({ workers: "2" })).toEqual(['workers: must be a whole number (got "2")']);
    expect(problems({ enable_metrics: "yes" })).toEqual(['enable_metrics: must be true or false (got "yes")']);
  });

  it("warn about a metrics listener that enable_metrics leaves closed", () => {
    const { warnings } = validate({ listeners: [{ port: 9000, type: "metrics" }] });
    expect(warnings).toEqual([
      {
        file: "homeserver.yaml",
        key: "listeners",
        message: "a listener has type: metrics but enable_metrics is not true; it is not opened",
      },
    ]);
  });
});

describe("password_config.hashing_threads", () => {
  it("defaults to null (the cores shared among the processes) and accepts a number", () => {
    expect(validate({}).config.password_config.hashing_threads).toBeNull();
    expect(validate({ password_config: { hashing_threads: 3 } }).config.password_config.hashing_threads).toBe(3);
  });

  it("reports a bad value with its key", () => {
    expect(problems({ password_config: { hashing_threads: 0 } })).toEqual([
      "password_config.hashing_threads: must be between 1 and 256 (got 0)",
    ]);
    expect(problems({ password_config: { hashing_threads: "two" } })).toEqual([
      'password_config.hashing_threads: must be a whole number (got "two")',
    ]);
  });
});

describe("password_config.argon2", () => {
  it("defaults to OWASP's setting and takes each parameter on its own", () => {
    expect(validate({}).config.password_config.argon2).toEqual({ memory_cost: 19456, time_cost: 2, parallelism: 1 });
    expect(
      validate({ password_config: { argon2: { memory_cost: 8, time_cost: 1 } } }).config.password_config.argon2,
    ).toEqual({ memory_cost: 8, time_cost: 1, parallelism: 1 });
  });

  it("reports a bad value with its key, and less than 8 KiB per lane", () => {
    expect(problems({ password_config: { argon2: { time_cost: 0 } } })).toEqual([
      "password_config.argon2.time_cost: must be between 1 and 100 (got 0)",
    ]);
    expect(problems({ password_config: { argon2: { memory_cost: 16, parallelism: 4 } } })).toEqual([
      "password_config.argon2.memory_cost: must be at least 8 KiB per lane (32 for parallelism 4)",
    ]);
    expect(problems({ password_config: { argon2: "cheap" } })).toEqual([
      'password_config.argon2: must be a mapping (got "cheap")',
    ]);
  });
});
