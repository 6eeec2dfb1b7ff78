/**
 * Running matrix-nio (Debian's python3-matrix-nio, under the system /usr/bin/python3) from a test: the scripts in
 * this folder each print one JSON line `{"ok": bool, "steps": {step: {...}}}` as their last output.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const PYTHON = "/usr/bin/python3";

const hasNio = () => spawnSync(PYTHON, ["-c", "import nio"], { stdio: "ignore" }).status === 0;

/** nio must be importable; as root (CI, this machine) Debian's package is installed when it is not. */
export function ensureNio(): void {
  if (hasNio()) return;
  if (process.getuid?.() === 0) {
    const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "python3-matrix-nio"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 540_000,
    });
    if (hasNio()) return;
    throw new Error(`apt-get install python3-matrix-nio failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  throw new Error(`${PYTHON} cannot import nio: apt-get install -y python3-matrix-nio`);
}

/** One step's record: the nio response type, and the fields the script chose to report. */
export interface NioStep {
  type: string;
  status_code?: string;
  message?: string;
  [field: string]: unknown;
}

export interface NioRun {
  code: number | null;
  stdout: string;
  stderr: string;
  result: { ok: boolean; steps: Record<string, NioStep> } | null;
}

/** Runs `script` (a file name in test/clients/) with `args`; killed after 110 s. */
export function runNioScript(script: string, args: string[]): Promise<NioRun> {
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, [file, ...args], {
      // Loopback only, whatever proxy settings the environment has; no .pyc files in the tree.
      env: { ...process.env, NO_PROXY: "*", no_proxy: "*", PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 110_000);
    proc.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").at(-1) ?? "";
      let result: NioRun["result"];
      try {
        result = JSON.parse(line) as NioRun["result"];
      } catch {
        result = null;
      }
      resolve({ code, stdout, stderr, result });
    });
  });
}
