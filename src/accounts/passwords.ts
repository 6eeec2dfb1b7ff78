/**
 * @module Password hashing and verification: argon2id for new hashes by default, bcrypt on request, and both
 * verified, including hashes made by Synapse.
 *
 * Synapse hashes `NFKC(password) + pepper` with bcrypt, truncated to 72 bytes; every hash here is made from the
 * same preprocessed bytes so Synapse's hashes verify unchanged and a database can move either way. The work runs
 * on the process's hashing threads (hash-pool.ts), below the event loop's priority, so it never blocks or starves it.
 */
import { randomBytes } from "node:crypto";
import { DEFAULT_ARGON2, type Argon2Config, type PasswordAlgorithm } from "../config/schema.js";
import { ErrCode, MatrixError } from "../errors.js";
import { trackHash } from "../metrics/metrics.js";
import { HashQueueFullError, sharedHashPool, type HashPool } from "./hash-pool.js";

/** The default argon2id setting (OWASP's: 19 MiB, 2 passes, 1 lane), in the argon2 library's terms. */
export const ARGON2_PARAMS = argon2Params(DEFAULT_ARGON2);

export function argon2Params(c: Argon2Config): { memoryCost: number; timeCost: number; parallelism: number } {
  return { memoryCost: c.memory_cost, timeCost: c.time_cost, parallelism: c.parallelism };
}

export interface PasswordHasherOptions {
  algorithm: PasswordAlgorithm;
  bcryptRounds: number;
  pepper: string;
  /** `password_config.argon2`; the default setting when absent. */
  argon2?: Argon2Config;
  /** `password_config.hashing_queue_limit`: how many waiting hashes a bounded `hash` accepts to queue behind. */
  queueLimit?: number;
}

/** How long a client refused for a full hashing queue is told to wait: about one hash per thread. */
const QUEUE_FULL_RETRY_MS = 1000;

export class PasswordHasher {
  private readonly argon2: ReturnType<typeof argon2Params>;
  /** This hasher's own throwaway hash (its algorithm, cost and pepper), made on first use. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly options: PasswordHasherOptions,
    private readonly pool: HashPool = sharedHashPool(),
  ) {
    this.argon2 = argon2Params(options.argon2 ?? DEFAULT_ARGON2);
  }

  /** Synapse's preprocessing: NFKC-normalise, append the pepper. */
  private bytes(password: string): Uint8Array {
    // A copy of its own: a small Buffer is a view of a shared 8 KiB slab, all of which would be posted to the thread.
    return new Uint8Array(
      Buffer.concat([Buffer.from(password.normalize("NFKC"), "utf8"), Buffer.from(this.options.pepper, "utf8")]),
    );
  }

  /**
   * `bounded`: for requests from clients, refused with 429 `M_LIMIT_EXCEEDED` when `queueLimit` hashes already wait.
   * The operator's own paths (CLI, admin API, bulk import) wait their turn.
   */
  hash(password: string, options: { bounded?: boolean } = {}): Promise<string> {
    const maxWaiting = options.bounded ? this.options.queueLimit : undefined;
    return trackHash(this.hashNow(password, maxWaiting)).catch((err: unknown) => {
      if (!(err instanceof HashQueueFullError)) throw err;
      throw new MatrixError(ErrCode.LimitExceeded, "Too Many Requests", {
        extra: { retry_after_ms: QUEUE_FULL_RETRY_MS },
      });
    });
  }

  verify(password: string, stored: string | null): Promise<boolean> {
    return trackHash(this.verifyNow(password, stored));
  }

  private async hashNow(password: string, maxWaiting: number | undefined): Promise<string> {
    const bytes = this.bytes(password);
    if (this.options.algorithm === "bcrypt") {
      // bcrypt reads 72 bytes; truncating here keeps the result independent of the library's own handling.
      return this.pool.run(
        { op: "bcrypt.hash", bytes: bytes.subarray(0, 72), cost: this.options.bcryptRounds },
        { maxWaiting },
      );
    }
    // No `algorithm`: argon2id is the package's default, and its `Algorithm` is a const enum that is empty at run
    // time under transpilers that do not inline it. The tests check every new hash starts with `$argon2id$`.
    return this.pool.run({ op: "argon2.hash", bytes, options: { ...this.argon2 } }, { maxWaiting });
  }

  /**
   * Spends what checking a real password costs, against a hash of this hasher's own kind, so that an unknown
   * account answers no faster than a wrong password. Per hasher, not per process: two servers in one process may
   * hash differently.
   */
  async verifyAgainstDummy(password: string): Promise<void> {
    this.dummyHash ??= this.hashNow(randomBytes(24).toString("base64"), undefined);
    await this.verify(password, await this.dummyHash);
  }

  /** False for a null or unrecognised hash (deactivated or password-less accounts) rather than an error. */
  private async verifyNow(password: string, stored: string | null): Promise<boolean> {
    if (!stored) return false;
    const bytes = this.bytes(password);
    if (isBcrypt(stored)) return this.pool.run({ op: "bcrypt.verify", bytes: bytes.subarray(0, 72), stored });
    if (stored.startsWith("$argon2")) {
      try {
        return await this.pool.run({ op: "argon2.verify", bytes, stored });
      } catch {
        return false;
      }
    }
    return false;
  }

  /** True when a hash was made with another algorithm or weaker parameters than the configured ones. */
  needsRehash(stored: string): boolean {
    if (this.options.algorithm === "bcrypt") {
      const m = /^\$2[abxy]\$(\d\d)\$/.exec(stored);
      return !m || Number(m[1]) < this.options.bcryptRounds;
    }
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    return (
      !m ||
      Number(m[1]) < this.argon2.memoryCost ||
      Number(m[2]) < this.argon2.timeCost ||
      Number(m[3]) < this.argon2.parallelism
    );
  }
}

function isBcrypt(stored: string): boolean {
  return /^\$2[abxy]\$\d\d\$/.test(stored);
}
