/**
 * Password hashing (§6.1): argon2id by default, bcrypt on request, Synapse's preprocessing (NFKC + pepper,
 * 72-byte bcrypt truncation) so Synapse's own hashes verify, and hashing off the event loop.
 */
import { hash as argon2Hash, type Algorithm } from "@node-rs/argon2";
import { hash as bcryptHash, verify as bcryptVerify } from "@node-rs/bcrypt";
import { describe, expect, it } from "vitest";
import { ARGON2_PARAMS, PasswordHasher, type PasswordHasherOptions } from "../../src/accounts/passwords.js";

/** `Algorithm.Argon2i` and `Algorithm.Argon2id`: a `const enum` whose runtime object is empty, so no import works. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
const ARGON2I = 1 as Algorithm;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
const ARGON2ID = 2 as Algorithm;

function hasher(options: Partial<PasswordHasherOptions> = {}): PasswordHasher {
  return new PasswordHasher({ algorithm: "argon2id", bcryptRounds: 4, pepper: "", ...options });
}

/** Synapse's `hash()`: NFKC, append the pepper, keep the first 72 bytes. */
function synapseBytes(password: string, pepper = ""): Buffer {
  return Buffer.concat([Buffer.from(password.normalize("NFKC"), "utf8"), Buffer.from(pepper, "utf8")]).subarray(0, 72);
}

/** A bcrypt hash made the way Synapse makes one, by the bcrypt library directly (not through Gatehouse). */
function synapseHash(password: string, pepper = "", cost = 4, version: "2a" | "2b" | "2y" = "2b"): Promise<string> {
  return bcryptHash(synapseBytes(password, pepper), { cost, version });
}

/**
 * Made once with Python's `bcrypt` (pyca/bcrypt 3.2, the library Synapse uses) running Synapse's exact steps:
 * `bcrypt.hashpw(unicodedata.normalize("NFKC", pw).encode() + pepper.encode())[:72], bcrypt.gensalt(rounds, prefix))`.
 */
const SYNAPSE_VECTORS: { password: string; pepper: string; hash: string }[] = [
  {
    password: "correct horse battery staple",
    pepper: "",
    hash: "$2b$04$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS",
  },
  {
    // Decomposed á, the "ﬁ" ligature and precomposed ö: NFKC turns this into "pássfi wörd".
    password: "pa\u0301ss\ufb01 w\u00f6rd",
    pepper: "pepper!",
    hash: "$2b$04$bmbipf4iO0DpZlbciwdkueC23J.JOHZI87pwBef7eqnMHoJT6TXgW",
  },
  { password: "hunter2", pepper: "", hash: "$2a$04$QIa6kwOKOrhqJfRqUky70eDO2G8eUxGy1tZMWSq9K8sxozxPdihFi" },
  {
    // 70 ASCII bytes + "é" (2 bytes) = 72 bytes; the rest is past bcrypt's reach.
    password: `${"x".repeat(70)}\u00e9tail-ignored`,
    pepper: "",
    hash: "$2b$04$qqSELUUmTaicb6ahWH68xuq3OjmYxQahl64SOb1v7F0su1qpeasI6",
  },
  { password: "hunter2", pepper: "", hash: "$2b$05$Jl0qZzpKjhOUJ5bow03zJO6KNS8Yk9f3jIjUDBMDLui0YmtKmYH4m" },
];

describe("argon2id (the default)", () => {
  it("makes argon2id hashes with the OWASP parameters, which verify", async () => {
    const h = hasher();
    const stored = await h.hash("correct horse");
    expect(stored).toMatch(
      new RegExp(
        `^\\$argon2id\\$v=19\\$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}\\$`,
      ),
    );
    expect(await h.verify("correct horse", stored)).toBe(true);
    expect(await h.verify("correct horsE", stored)).toBe(false);
    expect(await h.verify("", stored)).toBe(false);
  });

  it("salts: the same password hashes differently each time, and both verify", async () => {
    const h = hasher();
    const [a, b] = await Promise.all([h.hash("same"), h.hash("same")]);
    expect(a).not.toBe(b);
    expect(await h.verify("same", a)).toBe(true);
    expect(await h.verify("same", b)).toBe(true);
  });

  it("hashes the whole password: unlike bcrypt, a shared 72-byte prefix is not enough", async () => {
    const h = hasher();
    const prefix = "p".repeat(72);
    const stored = await h.hash(`${prefix}-one`);
    expect(await h.verify(`${prefix}-one`, stored)).toBe(true);
    expect(await h.verify(`${prefix}-two`, stored)).toBe(false);
  });

  it("a bcrypt-configured hasher still verifies argon2id hashes", async () => {
    const stored = await hasher().hash("pw");
    expect(await hasher({ algorithm: "bcrypt" }).verify("pw", stored)).toBe(true);
  });
});

describe("bcrypt", () => {
  it("makes $2b$ hashes with the configured cost, which verify", async () => {
    const h = hasher({ algorithm: "bcrypt", bcryptRounds: 5 });
    const stored = await h.hash("correct horse");
    expect(stored).toMatch(/^\$2b\$05\$[./A-Za-z0-9]{53}$/);
    expect(await h.verify("correct horse", stored)).toBe(true);
    expect(await h.verify("correct horsf", stored)).toBe(false);
  });

  it("hashes exactly Synapse's bytes, so the bcrypt library alone verifies them", async () => {
    const stored = await hasher({ algorithm: "bcrypt", pepper: "spice" }).hash("ﬁne");
    expect(await bcryptVerify(synapseBytes("fine", "spice"), stored)).toBe(true);
    expect(await bcryptVerify(Buffer.from("ﬁne", "utf8"), stored)).toBe(false);
  });

  it("an argon2id-configured hasher still verifies bcrypt hashes", async () => {
    const stored = await hasher({ algorithm: "bcrypt" }).hash("pw");
    expect(await hasher().verify("pw", stored)).toBe(true);
  });
});

describe("hashes made by Synapse", () => {
  it.each(SYNAPSE_VECTORS.map((v) => [v.hash.slice(0, 7), v] as const))(
    "verifies the fixed %s vector, and refuses a wrong password",
    async (_label, v) => {
      const h = hasher({ pepper: v.pepper });
      expect(await h.verify(v.password, v.hash)).toBe(true);
      expect(await h.verify(`${v.password.slice(0, 5)}!`, v.hash)).toBe(false);
    },
  );

  it("verifies the NFKC-equivalent spelling of the ligature vector", async () => {
    const v = SYNAPSE_VECTORS[1]!;
    expect(await hasher({ pepper: v.pepper }).verify("pássfi wörd", v.hash)).toBe(true);
  });

  it("verifies the long vector with any tail past 72 bytes", async () => {
    const v = SYNAPSE_VECTORS[3]!;
    expect(await hasher().verify(`${"x".repeat(70)}\u00e9`, v.hash)).toBe(true);
    expect(await hasher().verify(`${"x".repeat(70)}\u00e9 something else entirely`, v.hash)).toBe(true);
    // One byte short of the prefix (the é cut in half) is a different password.
    expect(await hasher().verify("x".repeat(70), v.hash)).toBe(false);
  });

  it.each(["2a", "2b", "2y"] as const)("verifies freshly made $%s$ hashes of Synapse's bytes", async (version) => {
    const stored = await synapseHash("s3cret ✓", "pep", 4, version);
    expect(stored.startsWith(`$${version}$04$`)).toBe(true);
    expect(await hasher({ pepper: "pep" }).verify("s3cret ✓", stored)).toBe(true);
    expect(await hasher({ pepper: "pep" }).verify("s3cret ✗", stored)).toBe(false);
  });

  it("verifies a high-cost Synapse hash too (cost comes from the hash, not the config)", async () => {
    const stored = await synapseHash("pw", "", 6);
    expect(await hasher({ algorithm: "bcrypt", bcryptRounds: 4 }).verify("pw", stored)).toBe(true);
  });
});

describe("NFKC normalisation", () => {
  it.each([
    ["the ﬁ ligature", "\ufb01sh", "fish"],
    ["composed and decomposed é", "caf\u00e9", "cafe\u0301"],
    ["fullwidth letters", "ｐａｓｓ", "pass"],
    ["superscript two", "x\u00b2", "x2"],
  ])("treats %s as the same password", async (_what, a, b) => {
    for (const algorithm of ["argon2id", "bcrypt"] as const) {
      const h = hasher({ algorithm });
      const stored = await h.hash(a);
      expect(await h.verify(b, stored)).toBe(true);
      expect(await h.verify(a, stored)).toBe(true);
    }
  });

  it("does not fold case (NFKC is not case folding)", async () => {
    const h = hasher({ algorithm: "bcrypt" });
    expect(await h.verify("Fish", await h.hash("ﬁsh"))).toBe(false);
  });
});

describe("pepper", () => {
  it.each(["argon2id", "bcrypt"] as const)(
    "%s: the right pepper verifies, a wrong or missing one does not",
    async (algorithm) => {
      const stored = await hasher({ algorithm, pepper: "pepper-1" }).hash("pw");
      expect(await hasher({ algorithm, pepper: "pepper-1" }).verify("pw", stored)).toBe(true);
      expect(await hasher({ algorithm, pepper: "pepper-2" }).verify("pw", stored)).toBe(false);
      expect(await hasher({ algorithm, pepper: "" }).verify("pw", stored)).toBe(false);
      // The pepper is appended, not just mixed in somehow: "pw"+"pepper-1" is the same bytes as "pwpepper-1"+"".
      expect(await hasher({ algorithm, pepper: "" }).verify("pwpepper-1", stored)).toBe(true);
    },
  );

  it("a Synapse hash made with a pepper needs the same pepper", async () => {
    const stored = await synapseHash("pw", "abc");
    expect(await hasher({ pepper: "abc" }).verify("pw", stored)).toBe(true);
    expect(await hasher({ pepper: "abd" }).verify("pw", stored)).toBe(false);
  });
});

describe("bcrypt's 72-byte limit", () => {
  it("passwords sharing the first 72 bytes verify against each other under bcrypt, as in Synapse", async () => {
    const h = hasher({ algorithm: "bcrypt" });
    const prefix = "p".repeat(72);
    const stored = await h.hash(`${prefix}-one`);
    expect(await h.verify(`${prefix}-two`, stored)).toBe(true);
    expect(await h.verify(prefix, stored)).toBe(true);
    expect(await h.verify("p".repeat(71), stored)).toBe(false);
  });

  it("the pepper counts toward the 72 bytes (and is lost past them)", async () => {
    const prefix = "q".repeat(70);
    const stored = await hasher({ algorithm: "bcrypt", pepper: "PEPPER" }).hash(prefix);
    // Only "PE" of the pepper fits.
    expect(await hasher({ algorithm: "bcrypt", pepper: "PEXXXX" }).verify(prefix, stored)).toBe(true);
    expect(await hasher({ algorithm: "bcrypt", pepper: "PXXXXX" }).verify(prefix, stored)).toBe(false);
  });

  it("truncates by bytes, not characters", async () => {
    // 36 two-byte characters fill 72 bytes; a 37th makes no difference.
    const h = hasher({ algorithm: "bcrypt" });
    const stored = await h.hash("é".repeat(36));
    expect(await h.verify(`${"é".repeat(36)}é`, stored)).toBe(true);
    expect(await h.verify("é".repeat(35), stored)).toBe(false);
  });
});

describe("verify never throws", () => {
  it.each([
    ["null", null],
    ["empty", ""],
    ["plain text", "hunter2"],
    ["an unknown scheme", "$6$rounds=5000$salt$hash"],
    ["a truncated bcrypt hash", "$2b$04$yEMxJvSR1Hm71ofdVTW89e"],
    ["a bcrypt hash with bad characters", "$2b$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"],
    ["a bcrypt hash with a cost of 99", "$2b$99$yEMxJvSR1Hm71ofdVTW89eDhlAVzO/FWg/DiQz/Cpd7aVBjK0v2CS"],
    ["a bare bcrypt prefix", "$2b$04$"],
    ["a truncated argon2 hash", "$argon2id$v=19$m=19456,t=2,p=1$"],
    ["argon2 garbage", "$argon2id$garbage"],
    ["an argon2i-looking string", "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA"],
  ])("returns false for %s", async (_what, stored) => {
    for (const algorithm of ["argon2id", "bcrypt"] as const) {
      await expect(hasher({ algorithm }).verify("hunter2", stored)).resolves.toBe(false);
    }
  });

  it("returns false, not true, for an empty password against an empty hash", async () => {
    await expect(hasher().verify("", "")).resolves.toBe(false);
    await expect(hasher().verify("", null)).resolves.toBe(false);
  });
});

describe("needsRehash", () => {
  it("argon2id config: current argon2id hashes need nothing", async () => {
    const h = hasher();
    expect(h.needsRehash(await h.hash("pw"))).toBe(false);
  });

  it("argon2id config: bcrypt hashes need rehashing", async () => {
    expect(hasher().needsRehash(SYNAPSE_VECTORS[0]!.hash)).toBe(true);
    expect(hasher().needsRehash(await synapseHash("pw", "", 12))).toBe(true);
  });

  it("argon2id config: weaker argon2 parameters need rehashing, stronger ones do not", async () => {
    const make = (o: { memoryCost: number; timeCost: number; parallelism: number }) =>
      argon2Hash("pw", { ...o, algorithm: ARGON2ID });
    const p = ARGON2_PARAMS;
    expect(hasher().needsRehash(await make({ ...p, memoryCost: 8192 }))).toBe(true);
    expect(hasher().needsRehash(await make({ ...p, timeCost: 1 }))).toBe(true);
    expect(hasher().needsRehash(await make({ ...p }))).toBe(false);
    expect(hasher().needsRehash(await make({ ...p, timeCost: 3 }))).toBe(false);
    expect(hasher().needsRehash(await make({ ...p, parallelism: 2 }))).toBe(false);
  });

  it("password_config.argon2: new hashes carry the configured cost, and a hash below it needs rehashing", async () => {
    const cheap = hasher({ argon2: { memory_cost: 8, time_cost: 1, parallelism: 1 } });
    const stored = await cheap.hash("pw");
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    expect(await cheap.verify("pw", stored)).toBe(true);
    expect(await hasher().verify("pw", stored)).toBe(true);
    expect(cheap.needsRehash(stored)).toBe(false);
    // The default setting is stronger, so a server configured with it upgrades the cheap hash at the next login.
    expect(hasher().needsRehash(stored)).toBe(true);
    expect(cheap.needsRehash(await hasher().hash("pw"))).toBe(false);
  });

  it("argon2id config: other argon2 variants and garbage need rehashing", async () => {
    const argon2i = await argon2Hash("pw", { ...ARGON2_PARAMS, algorithm: ARGON2I });
    expect(argon2i.startsWith("$argon2i$")).toBe(true);
    expect(hasher().needsRehash(argon2i)).toBe(true);
    expect(hasher().needsRehash("garbage")).toBe(true);
    expect(hasher().needsRehash("")).toBe(true);
  });

  it("bcrypt config: a lower cost needs rehashing; the same or a higher one does not", async () => {
    const h = hasher({ algorithm: "bcrypt", bcryptRounds: 5 });
    expect(h.needsRehash(SYNAPSE_VECTORS[0]!.hash)).toBe(true); // cost 4
    expect(h.needsRehash(SYNAPSE_VECTORS[4]!.hash)).toBe(false); // cost 5
    expect(h.needsRehash(await synapseHash("pw", "", 6))).toBe(false);
    expect(h.needsRehash(SYNAPSE_VECTORS[2]!.hash)).toBe(true); // $2a$04$
    expect(h.needsRehash(await h.hash("pw"))).toBe(false);
  });

  it("bcrypt config: argon2id hashes and garbage need rehashing", async () => {
    const h = hasher({ algorithm: "bcrypt", bcryptRounds: 4 });
    expect(h.needsRehash(await hasher().hash("pw"))).toBe(true);
    expect(h.needsRehash("garbage")).toBe(true);
  });
});

describe("the event loop", () => {
  it("keeps running while four argon2 hashes are computed", async () => {
    const h = hasher();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const started = Date.now();
      const hashes = await Promise.all(["a", "b", "c", "d"].map((p) => h.hash(p)));
      const elapsed = Date.now() - started;
      expect(hashes.every((s) => s.startsWith("$argon2id$"))).toBe(true);
      // Had the hashes blocked the loop, the timer could not have fired before they were all done (0 ticks).
      // Expect several, but never more than the time taken allows at an eighth of the nominal 5 ms rate.
      expect(ticks).toBeGreaterThanOrEqual(Math.max(1, Math.min(4, Math.floor(elapsed / 40))));
    } finally {
      clearInterval(timer);
    }
  });

  it("keeps running while bcrypt hashes and verifies", async () => {
    const h = hasher({ algorithm: "bcrypt", bcryptRounds: 10 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const stored = await h.hash("pw");
      expect(await h.verify("pw", stored)).toBe(true);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });
});

describe("the throwaway hash an unknown account is checked against", () => {
  it("is each hasher's own, of its algorithm and cost, so two servers in one process never share one", async () => {
    const bcrypt = hasher({ algorithm: "bcrypt" });
    const argon = hasher({ algorithm: "argon2id" });
    // Whichever runs first must not decide the other's kind of hash (a module-level one did).
    await bcrypt.verifyAgainstDummy("guess");
    await argon.verifyAgainstDummy("guess");
    const dummyOf = (h: PasswordHasher) => (h as unknown as { dummyHash: Promise<string> }).dummyHash;
    expect(await dummyOf(bcrypt)).toMatch(/^\$2b\$04\$/);
    expect(await dummyOf(argon)).toMatch(/^\$argon2id\$/);
    const first = await dummyOf(argon);
    await argon.verifyAgainstDummy("again");
    expect(await dummyOf(argon)).toBe(first);
  });
});
