/**
 * Made-up accounts for benchmarks: localparts and display names built from common first and last names with
 * numbers, some display names with accents or in other scripts, some accounts without one. The same seed gives the
 * same accounts, so runs compare.
 */
import { sql, type Kysely } from "kysely";
import type { Db } from "../src/db/database.js";
import type { Database } from "../src/db/schema.js";

const FIRST = (
  "james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph " +
  "jessica thomas sarah christopher karen charles lisa daniel nancy matthew betty anthony sandra mark margaret " +
  "donald ashley steven kimberly andrew emily paul donna joshua michelle kenneth carol kevin amanda brian melissa " +
  "george deborah timothy stephanie ronald rebecca jason sharon edward laura jeffrey cynthia ryan dorothy jacob " +
  "amy gary kathleen nicholas angela eric shirley jonathan emma stephen brenda larry pamela justin nicole scott " +
  "anna brandon samantha benjamin katherine samuel christine gregory debra alexander rachel patrick carolyn frank " +
  "janet raymond maria jack olivia dennis heather jerry helen tyler catherine aaron diane jose julie adam victoria " +
  "nathan joyce henry lauren zachary kelly douglas christina peter ruth kyle joan noah virginia ethan judith " +
  "jeremy evelyn christian hannah walter andrea keith megan austin cheryl roger jacqueline terry madison sean " +
  "teresa gerald abigail carl sophia dylan martha harold sara jordan gloria jesse janice bryan kathryn lawrence " +
  "ann arthur isabella gabriel judy bruce charlotte logan julia billy grace joe amber alan alice juan jean " +
  "elijah denise willie frances albert danielle wayne marilyn randy beverly mason diana vincent natalie liam " +
  "brittany roy doris bobby kayla caleb alexis bradley lori russell tiffany lucas kai mei yuki sven ingrid lars"
).split(" ");

const LAST = (
  "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson " +
  "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis " +
  "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera " +
  "campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart " +
  "morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim " +
  "cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo " +
  "sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler " +
  "henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds " +
  "griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford " +
  "castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman " +
  "webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon " +
  "muñoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice " +
  "schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley spencer " +
  "hawkins arnold pierce vazquez hansen peters santos hart bradley knight elliott cunningham duncan armstrong"
).split(" ");

/** Display names that are not plain ASCII: search must find them by their own letters. */
const INTERNATIONAL = [
  "José Núñez",
  "Zoë Brontë",
  "Søren Kierkegård",
  "Björn Ångström",
  "Łukasz Żółw",
  "Ærøskøbing Ådne",
  "Renée Côté",
  "Dvořák Antonín",
  "Ελένη Παπαδοπούλου",
  "Дмитрий Иванов",
  "王小明",
  "佐藤 花子",
  "김민준",
  "محمد علي",
];

export interface BenchUser {
  name: string;
  displayname: string | null;
  creation_ts: number;
}

/** Mulberry32: a small seeded PRNG, so every run makes the same accounts. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** `count` distinct accounts on `serverName`; about 12 % have no display name, about 1 % a non-ASCII one. */
export function* benchUsers(count: number, serverName: string, seed = 42): Generator<BenchUser> {
  const random = seededRandom(seed);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const seen = new Set<string>();
  const start = 1_600_000_000;
  for (let i = 0; i < count; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const n = Math.floor(random() * 10_000);
    const style = random();
    let local =
      style < 0.35
        ? `${first}.${last}`
        : style < 0.6
          ? `${first}${last}${n}`
          : style < 0.75
            ? `${first.charAt(0)}${last}${n % 100}`
            : style < 0.9
              ? `${first}_${n}`
              : `${last}-${first}-${n}`;
    local = local.normalize("NFD").replace(/[^a-z0-9._=/-]/g, "");
    // Collisions get the running number, as a registration form would suggest.
    if (seen.has(local)) local = `${local}.${i}`;
    seen.add(local);
    const shape = random();
    const displayname =
      shape < 0.12
        ? null
        : shape < 0.13
          ? pick(INTERNATIONAL)
          : shape < 0.9
            ? `${cap(first)} ${cap(last)}`
            : `${cap(first)} ${cap(last).charAt(0)}.`;
    yield { name: `@${local}:${serverName}`, displayname, creation_ts: start + i * 30 };
  }
}

/**
 * Inserts the accounts in batches of one JSON parameter each (the fastest path both databases share), outside the
 * stores on purpose: a million registrations would measure hashing, not search.
 */
export async function bulkInsertUsers(db: Db, users: Iterable<BenchUser>, batchSize = 20_000): Promise<number> {
  let batch: BenchUser[] = [];
  let total = 0;
  const flush = async (trx: Kysely<Database>) => {
    const json = JSON.stringify(batch);
    if (db.dialect === "postgres") {
      await sql`INSERT INTO users (name, displayname, creation_ts)
        SELECT name, displayname, creation_ts FROM json_to_recordset(${json}::json)
          AS x(name text, displayname text, creation_ts bigint)`.execute(trx);
    } else {
      await sql`INSERT INTO users (name, displayname, creation_ts)
        SELECT value ->> 'name', value ->> 'displayname', value ->> 'creation_ts' FROM json_each(${json})`.execute(trx);
    }
    total += batch.length;
    batch = [];
  };
  await db.kysely.transaction().execute(async (trx) => {
    for (const u of users) {
      batch.push(u);
      if (batch.length === batchSize) await flush(trx);
    }
    if (batch.length > 0) await flush(trx);
  });
  return total;
}
