/**
 * @module The `cross_signing_signatures` table: signatures of master keys, made by the owner's devices or by another
 * user's user-signing key. A master key is named by its public part (`target_key_id`), so the signatures of a
 * replaced master key no longer apply to the new one.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface KeySignature {
  signerUserId: string;
  keyId: string;
  targetUserId: string;
  targetKeyId: string;
  signature: string;
}

export interface CrossSigningSignaturesStore {
  /** Adds signatures; one already stored for the same signer, key and target is kept. */
  add(signatures: KeySignature[]): Promise<void>;
  /** The signatures `signerUserId` made of any of `targets` (user ID and master key public part). */
  bySigner(signerUserId: string, targets: { userId: string; keyId: string }[]): Promise<KeySignature[]>;
}

export function crossSigningSignaturesStore(db: Kysely<Database>): CrossSigningSignaturesStore {
  return {
    async add(signatures) {
      if (signatures.length === 0) return;
      await db
        .insertInto("cross_signing_signatures")
        .values(
          signatures.map((s) => ({
            signer_user_id: s.signerUserId,
            key_id: s.keyId,
            target_user_id: s.targetUserId,
            target_key_id: s.targetKeyId,
            signature: s.signature,
          })),
        )
        .onConflict((oc) => oc.columns(["target_user_id", "target_key_id", "signer_user_id", "key_id"]).doNothing())
        .execute();
    },
    async bySigner(signerUserId, targets) {
      if (targets.length === 0) return [];
      const rows = await db
        .selectFrom("cross_signing_signatures")
        .selectAll()
        .where("signer_user_id", "=", signerUserId)
        .where((eb) =>
          eb.or(targets.map((t) => eb.and([eb("target_user_id", "=", t.userId), eb("target_key_id", "=", t.keyId)]))),
        )
        .execute();
      return rows.map((r) => ({
        signerUserId: r.signer_user_id,
        keyId: r.key_id,
        targetUserId: r.target_user_id,
        targetKeyId: r.target_key_id,
        signature: r.signature,
      }));
    },
  };
}
