/**
 * Response validation against the Matrix client-server API's OpenAPI 3.1 files (shared/matrix-spec, Apache-2.0).
 *
 * `expectSpecResponse(method, path, status, body)` finds the spec operation for a request path (r0, unstable and
 * api/v1 are read as v3, then v1), picks the response schema for the status (or `default`), and throws a readable
 * error when the body does not match. A path the spec does not know fails too, unless it is one of our own
 * non-spec endpoints (`NON_SPEC_PATHS`). An error status the operation does not document is checked against the
 * spec's standard error body, since the spec lets any endpoint answer with one.
 *
 * Each spec file is bundled (with `yaml` as the parser: js-yaml rejects account-data.yaml) and compiled with ajv's
 * 2020-12 build only when a request first needs it; the path index is built from all files once per process.
 */
import { $RefParser, type FileInfo } from "@apidevtools/json-schema-ref-parser";
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { call, type HttpResult } from "./http.js";

export const SPEC_DIR = new URL("../../../shared/matrix-spec/data/api/client-server/", import.meta.url).pathname;

/** Our endpoints that no Matrix spec describes; their responses are not checked. */
export const NON_SPEC_PATHS: RegExp[] = [
  /^\/_synapse\//,
  /^\/_matrix\/client\/(?:r0|v3|unstable)\/password_policy$/,
  /^\/health$/,
];

/** Unstable (MSC) names of endpoints that are stable now: request path → the stable path to look up. */
const UNSTABLE_ALIASES: [RegExp, string][] = [
  [
    /^\/_matrix\/client\/unstable\/org\.matrix\.msc3231\/register\/org\.matrix\.msc3231\.login\.registration_token\/validity$/,
    "/_matrix/client/v1/register/m.login.registration_token/validity",
  ],
];

const SERVER_NAME = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?`;

/** Regexes for the spec's own string formats (data/string-formats.yaml names them; it gives no regexes). */
export const MATRIX_FORMATS: Record<string, RegExp> = {
  "mx-user-id": new RegExp(String.raw`^@[\x21-\x39\x3b-\x7e]+:${SERVER_NAME}$`),
  "mx-room-id": /^![\x21-\x7e]+$/,
  "mx-event-id": /^\$[\x21-\x7e]+$/,
  "mx-room-alias": new RegExp(String.raw`^#[^:\s]+:${SERVER_NAME}$`),
  "mx-server-name": new RegExp(`^${SERVER_NAME}$`),
  "mx-mxc-uri": new RegExp(String.raw`^mxc://${SERVER_NAME}/[A-Za-z0-9_-]+$`),
  "mx-unpadded-base64": /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/,
  "mx-urlsafe-unpadded-base64": /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/,
};

interface Operation {
  file: string;
  /** The full path template, e.g. `/_matrix/client/v3/profile/{userId}`. */
  template: string;
  /** The key under `paths` in the file. */
  pathKey: string;
  method: string;
  regex: RegExp;
  /** Each documented status with its response object (a `$ref` to `components/responses` followed). */
  responses: Record<string, { pointer: string[]; response: unknown }>;
}

type YamlDoc = {
  components?: { responses?: Record<string, unknown> };
  servers?: { url?: string; variables?: { basePath?: { default?: string } } }[];
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
};

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

function basePathOf(doc: YamlDoc): string {
  const server = doc.servers?.[0];
  const base = server?.variables?.basePath?.default;
  if (typeof base === "string") return base.replace(/\/$/, "");
  return "";
}

/** A path template as a regex; `{stateKey}` may be empty (the spec: "the state key may be empty"). */
function templateRegex(template: string): RegExp {
  const parts = template
    .split(/(\{[^}]+\})/)
    .map((p) =>
      p === "{stateKey}" ? "[^/]*" : p.startsWith("{") ? "[^/]+" : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    );
  return new RegExp(`^${parts.join("")}$`);
}

/** Follows a response's local `$ref` (`#/components/responses/x`) so its schema is found where it lives. */
function resolveResponse(doc: YamlDoc, pointer: string[], response: unknown): { pointer: string[]; response: unknown } {
  const ref = (response as { $ref?: unknown } | undefined)?.$ref;
  if (typeof ref !== "string") return { pointer, response };
  const m = /^#\/components\/responses\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unsupported response $ref ${ref}`);
  return { pointer: ["components", "responses", m[1]!], response: doc.components?.responses?.[m[1]!] };
}

let operations: Operation[] | null = null;

/** Every operation of every client-server spec file, read once (parsing only, no `$ref` resolution). */
function allOperations(): Operation[] {
  if (operations) return operations;
  const ops: Operation[] = [];
  for (const file of readdirSync(SPEC_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    const doc = parseYaml(readFileSync(join(SPEC_DIR, file), "utf8")) as YamlDoc;
    const base = basePathOf(doc);
    for (const [pathKey, item] of Object.entries(doc.paths ?? {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const template = base + pathKey;
        const responses: Operation["responses"] = {};
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          responses[status] = resolveResponse(doc, ["paths", pathKey, method, "responses", status], response);
        }
        ops.push({ file, template, pathKey, method, regex: templateRegex(template), responses });
      }
    }
  }
  // Literal paths before templated ones, so `/devices/{id}` never shadows a literal sibling.
  ops.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  operations = ops;
  return ops;
}

/** The paths to look up for a request path: as given, and with r0 / unstable / api/v1 read as v3, then v1. */
export function candidatePaths(requestPath: string): string[] {
  const path = requestPath.split("?")[0]!;
  const out: string[] = [];
  for (const [re, stable] of UNSTABLE_ALIASES) if (re.test(path)) out.push(stable);
  const m = /^\/_matrix\/client\/(r0|v3|unstable|api\/v1|v1)(\/.*)$/.exec(path);
  if (m) {
    const rest = m[2]!;
    if (m[1] === "v1") out.push(path);
    out.push(`/_matrix/client/v3${rest}`, `/_matrix/client/v1${rest}`);
  } else {
    out.push(path);
  }
  return [...new Set(out)];
}

export function findOperation(method: string, requestPath: string): Operation | null {
  const m = method.toLowerCase();
  for (const candidate of candidatePaths(requestPath)) {
    const op = allOperations().find((o) => o.method === m && o.regex.test(candidate));
    if (op) return op;
  }
  return null;
}

export function isNonSpecPath(requestPath: string): boolean {
  const path = requestPath.split("?")[0]!;
  return NON_SPEC_PATHS.some((re) => re.test(path));
}

// --- schemas -----------------------------------------------------------------------------------------------------

// Both are CommonJS modules whose `module.exports` also carries itself as `.default`; NodeNext types see only that.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
addFormats(ajv);
for (const [name, re] of Object.entries(MATRIX_FORMATS)) ajv.addFormat(name, re);

const yamlParser = {
  order: 1,
  allowEmpty: true,
  canParse: [".yaml", ".yml", ".json"],
  parse(file: FileInfo): unknown {
    const data: unknown = file.data;
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : data;
    return typeof text === "string" ? parseYaml(text) : text;
  },
};

const bundled = new Map<string, Promise<string>>();

/** One spec file with every external `$ref` pulled in, internal `$ref`s left as JSON pointers. */
function bundle(path: string): Promise<Record<string, unknown>> {
  return $RefParser.bundle<Record<string, unknown>>(path, {
    parse: { yaml: yamlParser, json: false, text: false, binary: false },
    resolve: { http: false },
  });
}

/** Bundles one spec file (its external `$ref`s inlined) and registers it with ajv; resolves to its `$id`. */
function loadFile(file: string): Promise<string> {
  let p = bundled.get(file);
  if (!p) {
    p = (async () => {
      const doc = await bundle(join(SPEC_DIR, file));
      const id = `https://spec.matrix.test/client-server/${file}`;
      ajv.addSchema({ ...doc, $id: id }, id);
      return id;
    })();
    bundled.set(file, p);
  }
  return p;
}

const pointerSegment = (s: string) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"));

const compiled = new Map<string, ValidateFunction>();

async function validatorFor(op: Operation, statusKey: string): Promise<ValidateFunction> {
  const id = await loadFile(op.file);
  const pointer = [...op.responses[statusKey]!.pointer, "content", "application/json", "schema"]
    .map(pointerSegment)
    .join("/");
  const ref = `${id}#/${pointer}`;
  const known = compiled.get(ref);
  if (known) return known;
  const v = ajv.compile({ $ref: ref });
  compiled.set(ref, v);
  return v;
}

let errorValidator: Promise<ValidateFunction> | null = null;

/** The spec's standard error body (`definitions/errors/error.yaml`). */
function standardErrorValidator(): Promise<ValidateFunction> {
  errorValidator ??= (async () => {
    const schema = await bundle(join(SPEC_DIR, "definitions/errors/error.yaml"));
    return ajv.compile({ ...schema, required: ["errcode", "error"] });
  })();
  return errorValidator;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath === "" ? "(body)" : e.instancePath;
      const extra =
        e.keyword === "additionalProperties"
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : e.keyword === "enum"
            ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
            : "";
      return `  ${where} ${e.message ?? e.keyword}${extra} [${e.schemaPath}]`;
    })
    .join("\n");
}

function hasJsonSchema(response: unknown): boolean {
  const r = response as { content?: Record<string, { schema?: unknown }> } | undefined;
  return r?.content?.["application/json"]?.schema !== undefined;
}

/** The key in `responses` for `status`: exact, then `4XX`-style ranges, then `default`. */
function statusKeyFor(responses: Operation["responses"], status: number): string | null {
  if (String(status) in responses) return String(status);
  const range = `${String(status)[0]}XX`;
  if (range in responses) return range;
  if (range.toLowerCase() in responses) return range.toLowerCase();
  if ("default" in responses) return "default";
  return null;
}

export class SpecMismatchError extends Error {}

/** The 401s every authenticated endpoint may give, whatever its own 401 schema says. */
const ACCESS_TOKEN_ERRCODES = ["M_MISSING_TOKEN", "M_UNKNOWN_TOKEN", "M_USER_LOCKED"];

/**
 * Checks `body` against the spec's response schema for `method path` and `status`. Throws `SpecMismatchError` with
 * the operation, the body and every mismatch when it does not fit, or when no schema can be found for a path that
 * is not on the non-spec list.
 */
export async function expectSpecResponse(method: string, path: string, status: number, body: unknown): Promise<void> {
  const pathOnly = path.split("?")[0]!;
  if (isNonSpecPath(pathOnly)) return;
  const op = findOperation(method, pathOnly);
  const where = `${method.toUpperCase()} ${pathOnly} → ${status}`;
  const shown = () => {
    // undefined for a missing (or non-JSON) body, whatever the declared type says.
    const json = JSON.stringify(body, null, 2) as string | undefined;
    return (json ?? "undefined").slice(0, 2000);
  };
  if (!op) {
    // A path the spec lacks: only a plain "unrecognized" error for it is acceptable (it is not served at all).
    const errcode = (body as { errcode?: unknown } | undefined)?.errcode;
    if ((status === 404 || status === 405) && errcode === "M_UNRECOGNIZED") return;
    throw new SpecMismatchError(
      `${where}: no operation in the Matrix spec matches this path (tried ${candidatePaths(pathOnly).join(", ")})`,
    );
  }
  const label = `${where} (spec ${op.file}: ${op.method.toUpperCase()} ${op.template})`;
  const errcode = (body as { errcode?: unknown } | null | undefined)?.errcode;
  // Any endpoint that needs an access token may refuse it this way ("Common error codes"), even where the
  // operation's own 401 is a UIA body.
  const tokenRefusal = status === 401 && typeof errcode === "string" && ACCESS_TOKEN_ERRCODES.includes(errcode);
  const key = tokenRefusal ? null : statusKeyFor(op.responses, status);
  if (key === null || !hasJsonSchema(op.responses[key]!.response)) {
    if (status >= 400) {
      // Undocumented, or documented without a body schema: the spec's standard error body is what fits.
      const v = await standardErrorValidator();
      if (!v(body)) {
        const why = tokenRefusal
          ? "access-token refusal"
          : key === null
            ? "undocumented status"
            : `no schema for ${key}`;
        throw new SpecMismatchError(
          `${label}: ${why}, and the body is not a standard error:\n${describeErrors(v.errors)}\nbody: ${shown()}`,
        );
      }
      return;
    }
    if (key === null) {
      throw new SpecMismatchError(
        `${label}: the spec documents no ${status} response (has ${Object.keys(op.responses).join(", ")})`,
      );
    }
    // Redirects and bodies that are not JSON (media) have nothing to check here.
    if (status < 300 && body !== undefined) {
      throw new SpecMismatchError(`${label}: the spec documents no JSON body for ${key}; got ${shown()}`);
    }
    return;
  }
  const validate = await validatorFor(op, key);
  if (!validate(body)) {
    throw new SpecMismatchError(
      `${label}: response does not match the spec's schema for ${key}:\n${describeErrors(validate.errors)}\nbody: ${shown()}`,
    );
  }
}

/** `call` (test/helpers/http.ts) that checks every response against the spec before returning it. */
export async function specCall<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: Parameters<typeof call>[3] = {},
): Promise<HttpResult<T>> {
  const r = await call<T>(base, method, path, options);
  await expectSpecResponse(method, path, r.status, r.body);
  return r;
}
