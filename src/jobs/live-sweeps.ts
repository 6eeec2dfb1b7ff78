/**
 * @module The sweeps that keep typing and presence honest: every process runs them on short timers, because
 * someone stops typing or goes idle at any second, not once a period (which is what `JobRunner`'s leases are for).
 *
 * Each sweep reads a few indexed rows and changes each with a conditional update (src/rooms/typing.ts,
 * src/sync/presence.ts), so processes sweeping the same database at once change a row once and wake its audience
 * once. Readers never depend on a sweep to hide an expired typing notice; the sweep only tells waiting syncs.
 */
import type { AccountsContext } from "../accounts/context.js";
import { expireTyping } from "../rooms/typing.js";
import { sweepPresence } from "../sync/presence.js";
import { describeError } from "./runner.js";

export const TYPING_SWEEP_MS = 1_000;
export const PRESENCE_SWEEP_MS = 5_000;

export class LiveSweeps {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly ctx: AccountsContext,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.every(TYPING_SWEEP_MS, "typing", () => expireTyping(this.ctx));
    this.every(PRESENCE_SWEEP_MS, "presence", () => sweepPresence(this.ctx));
  }

  /** No new sweeps; waits for the one under way, so the database can close after. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await Promise.all(this.running);
  }

  private every(ms: number, name: string, sweep: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const run: Promise<unknown> = sweep()
        .catch((err: unknown) => this.log(`${name} sweep failed: ${describeError(err)}`))
        .finally(() => {
          busy = false;
          this.running.delete(run);
        });
      this.running.add(run);
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
