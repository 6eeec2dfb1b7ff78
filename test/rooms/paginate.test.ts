/**
 * The paginator alone, over an ordered list of positions: pages in either direction meet every kept item once, a
 * filter that keeps little costs a bounded read per page, and the continuation goes on where the page stopped.
 */
import { describe, expect, it } from "vitest";
import { firstWindow, paginate, type Direction, type Source } from "../../src/rooms/paginate.js";

function listSource(positions: number[], reads: number[] = []): Source<number> {
  return async (w) => {
    const inRange = positions.filter(
      (p) => (w.after === undefined || p > w.after) && (w.upTo === undefined || p <= w.upTo),
    );
    const ordered = w.dir === "b" ? inRange.reverse() : inRange;
    const out = ordered.slice(0, w.limit);
    reads.push(out.length);
    return out;
  };
}

async function all(
  positions: number[],
  dir: Direction,
  limit: number,
  accept: (p: number) => boolean,
): Promise<number[]> {
  const out: number[] = [];
  let from: number | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await paginate({
      source: listSource(positions),
      position: (p) => p,
      accept,
      from,
      to: undefined,
      dir,
      limit,
    });
    out.push(...page.items);
    if (!page.more) return out;
    from = page.next;
  }
  throw new Error("no end");
}

describe("paginate", () => {
  const positions = Array.from({ length: 3000 }, (_, i) => i * 2 + 1);

  it("meets every kept item once, both ways, whatever the filter keeps", async () => {
    for (const keep of [() => true, (p: number) => p % 3 === 0, (p: number) => p === 1 || p === 5999 || p === 3001]) {
      const expected = positions.filter(keep);
      for (const limit of [1, 7, 50]) {
        expect(await all(positions, "f", limit, keep)).toEqual(expected);
        expect(await all(positions, "b", limit, keep)).toEqual([...expected].reverse());
      }
    }
  });

  it("reads a bounded number of rows per page when the filter keeps almost nothing", async () => {
    const reads: number[] = [];
    const page = await paginate({
      source: listSource(positions, reads),
      position: (p) => p,
      accept: (p) => p === 1,
      from: undefined,
      to: undefined,
      dir: "b",
      limit: 10,
    });
    expect(page.items).toEqual([]);
    expect(page.more).toBe(true);
    const scanned = reads.reduce((a, b) => a + b, 0);
    expect(scanned).toBeLessThanOrEqual(511);
    expect(page.next).toBe(positions[positions.length - scanned]! - 1);
  });

  it("stays inside `to`, and a page of 0 says whether there is more", async () => {
    const page = await paginate({
      source: listSource(positions),
      position: (p) => p,
      accept: () => true,
      from: 100,
      to: 90,
      dir: "b",
      limit: 50,
    });
    expect(page.items).toEqual([99, 97, 95, 93, 91]);
    expect(page.more).toBe(false);
    const none = await paginate({
      source: listSource(positions),
      position: (p) => p,
      accept: () => true,
      from: 100,
      to: undefined,
      dir: "f",
      limit: 0,
    });
    expect(none).toEqual({ items: [], more: true, next: 100 });
  });

  it("reads first the window firstWindow names, which a page read ahead relies on", async () => {
    const positions = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const dir of ["b", "f"] as const) {
      for (const [from, to, limit] of [
        [undefined, undefined, 10],
        [60, undefined, 5],
        [60, 20, 50],
        [undefined, 30, 1],
      ] as const) {
        const asked: unknown[] = [];
        const source = listSource(positions);
        await paginate({
          source: (w) => {
            asked.push(w);
            return source(w);
          },
          position: (p) => p,
          accept: () => true,
          from,
          to,
          dir,
          limit,
        });
        expect(asked[0]).toEqual(firstWindow({ from, to, dir, limit }));
      }
    }
  });
});
