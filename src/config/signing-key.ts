/**
 * @module The server's signing-key file (`signing_key_path`): read it, or create it when it is missing, as Synapse's
 * `generate_files` does for `generate-config` and a first start.
 *
 * A new file is written whole under a temporary name with mode 0600 and then linked into place, which fails if the
 * name exists: two processes starting at once never both create a key, a crash never leaves half a key, and an
 * existing key is never replaced. The key is the server's identity to other servers: replacing it would make every
 * event it signed before unverifiable by anyone who had not already fetched the old key.
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { errorMessage } from "./validate.js";
import { generateSigningKey, parseSigningKeyFile, SigningKeyError, type SigningKey } from "../matrix/signing.js";

/** A signing-key file that cannot be read, created or parsed; the message is one line naming the file. */
export class SigningKeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SigningKeyFileError";
  }
}

export interface LoadedSigningKeys {
  /** Every key of the file, in file order; the first is the one the server signs with. */
  keys: SigningKey[];
  /** True when this call created the file. */
  created: boolean;
}

/** Reads the key file; throws `SigningKeyFileError` (one line) when it is missing, unreadable or malformed. */
export function readSigningKeys(path: string): SigningKey[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SigningKeyFileError(`signing_key_path: cannot read ${path}: ${errorMessage(err)}`);
  }
  try {
    return parseSigningKeyFile(text);
  } catch (err) {
    if (err instanceof SigningKeyError) {
      throw new SigningKeyFileError(`signing_key_path: ${path} is not a signing-key file: ${err.message}`);
    }
    throw err;
  }
}

/**
 * Writes a new key (`ed25519 a_XXXX <seed>`) to `path` unless a file is already there. Returns the key written, or
 * null when the file existed (it is left untouched).
 */
export function createSigningKeyFile(path: string): SigningKey | null {
  const key = generateSigningKey();
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  let fd: number;
  try {
    fd = openSync(temp, "wx", 0o600);
  } catch (err) {
    throw new SigningKeyFileError(`signing_key_path: cannot create ${path}: ${errorMessage(err)}`);
  }
  try {
    try {
      writeSync(fd, `${key.toFileLine()}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
      throw new SigningKeyFileError(`signing_key_path: cannot create ${path}: ${errorMessage(err)}`);
    }
    return key;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // Already gone; nothing to tidy.
    }
  }
}

/** The keys at `path`, creating the file first when there is none (`serve`'s first start). */
export function loadOrCreateSigningKeys(path: string): LoadedSigningKeys {
  // Looked for first: a key in a directory the server may not write to (/etc, say) is the usual case.
  const created = !existsSync(path) && createSigningKeyFile(path) !== null;
  return { keys: readSigningKeys(path), created };
}
