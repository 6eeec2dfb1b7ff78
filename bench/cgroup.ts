/**
 * CPU quotas for benchmark processes through Linux control groups (v1 `cpu` controller or v2 `cpu.max`), so that a
 * figure can hold each server process to the same share of a core whatever else runs on the machine. Needs write
 * access to the cgroup filesystem (root, here); `cpuQuotas()` answers null where there is none.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const PERIOD_US = 100_000;

export interface CpuQuotas {
  /** Moves `pid` (all its threads) into a group of its own limited to `cores` of CPU time. */
  limit(pid: number, cores: number): void;
  /** Moves every limited process back to the root group and removes the groups. */
  release(): void;
}

/** The process IDs `pid` started (its children), from /proc. */
export function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

export function cpuQuotas(tag: string): CpuQuotas | null {
  const v1 = "/sys/fs/cgroup/cpu";
  const v2 = "/sys/fs/cgroup";
  const root = existsSync(join(v1, "cpu.cfs_quota_us")) || existsSync(join(v1, "cgroup.procs")) ? v1 : null;
  const unified =
    !root &&
    existsSync(join(v2, "cgroup.controllers")) &&
    readFileSync(join(v2, "cgroup.controllers"), "utf8").includes("cpu")
      ? v2
      : null;
  const base = root ?? unified;
  if (!base) return null;
  const probe = join(base, `${tag}-probe`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch {
    return null;
  }
  const groups = new Map<number, string>();
  return {
    limit(pid, cores) {
      const dir = join(base, `${tag}-${pid}`);
      if (!existsSync(dir)) mkdirSync(dir);
      const quota = Math.round(cores * PERIOD_US);
      if (root) {
        writeFileSync(join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
        writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
      } else {
        writeFileSync(join(dir, "cpu.max"), `${quota} ${PERIOD_US}`);
      }
      writeFileSync(join(dir, "cgroup.procs"), String(pid));
      groups.set(pid, dir);
    },
    release() {
      for (const [pid, dir] of groups) {
        try {
          writeFileSync(join(base, "cgroup.procs"), String(pid));
        } catch {
          // Gone already: an exited process leaves its group empty.
        }
        try {
          rmdirSync(dir);
        } catch {
          // Still holds a process that is exiting; the bench's caller removes nothing else.
        }
      }
      groups.clear();
    },
  };
}
