/**
 * wrk helpers shared by the benchmark parts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export /** Lua for wrk: POSTs `body` to `path`, its two `%d` filled with the wrk thread's number and a per-thread count. */
function wrkPostScript(dir: string, name: string, path: string, body: string): string {
  const file = join(dir, `${name}.lua`);
  writeFileSync(
    file,
    `local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local body = string.format(${JSON.stringify(body)}, tid, n)
  return wrk.format("POST", "${path}", { ["Content-Type"] = "application/json" }, body)
end
`,
  );
  return file;
}
