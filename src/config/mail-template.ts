/**
 * @module The operator's mail templates (`email.template_dir`, Synapse's Jinja files), without a Jinja engine: the
 * part of Jinja that Synapse's mails need, `{{ variable }}` (HTML-escaped in `.html` files, as Synapse's
 * autoescape does, as written in `.txt` files), `{# comments #}`, and `{% extends %}` with `{% block %}` (Synapse's
 * own templates extend `_base.html`). Anything else (`{% if %}`, filters, attribute access, whitespace control, an
 * unknown variable) is refused when the template is read, naming the file, the line and the construct, so a
 * template is never sent half-rendered. Parsing and rendering are pure; `readTemplateFile`
 * reads the directory at start-up. (The SSO mapping templates, sso-template.ts, are another subset: claims and
 * filters, no escaping.)
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** What Synapse gives its account mails (`push/mailer.py` `send_email`): the link, its server and app names. */
export const TEMPLATE_VARIABLES = ["link", "server_name", "app_name"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Record<TemplateVariable, string>;

type Part = { text: string } | { variable: TemplateVariable; escape: boolean };
type Node = Part | { block: string; nodes: Node[] };

export interface MailTemplate {
  file: string;
  parts: Part[];
}

export class MailTemplateError extends Error {
  override name = "MailTemplateError";
}

/**
 * Gatehouse's `_base.html` for a template that extends Synapse's without the operator's own copy: the page and its
 * `title` and `body` blocks, without the logos Synapse's picks by `app_name`.
 */
export const BUILTIN_BASE_HTML =
  '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{% block title %}{% endblock %}</title>\n' +
  '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n</head>\n<body>\n' +
  "{% block body %}{% endblock %}\n</body>\n</html>\n";

const isVariable = (name: string): name is TemplateVariable => (TEMPLATE_VARIABLES as readonly string[]).includes(name);

function lineAt(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** Shortened for the message: a construct may run over lines. */
function shown(construct: string): string {
  const flat = construct.replace(/\s+/g, " ");
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

const SUPPORTED = "only {{ variable }}, {# comments #}, {% extends %} and {% block %}";
const NAME = "[A-Za-z_][A-Za-z0-9_]*";

interface Parsed {
  extends: { name: string; line: number } | null;
  nodes: Node[];
}

/** One file's nodes (blocks nested), or a MailTemplateError naming the file, the line and the construct. */
function parseFile(file: string, source: string): Parsed {
  const escape = /\.html?$/i.test(file);
  const fail = (index: number, what: string): never => {
    throw new MailTemplateError(`${file} line ${lineAt(source, index)}: ${what}`);
  };
  const root: Node[] = [];
  const open: { name: string; nodes: Node[]; at: number }[] = [];
  const current = () => open[open.length - 1]?.nodes ?? root;
  let extendsName: Parsed["extends"] = null;
  let pos = 0;
  const opener = /\{[{%#]/g;
  for (let m = opener.exec(source); m !== null; m = opener.exec(source)) {
    const start = m.index;
    const kind = m[0];
    const closer = kind === "{{" ? "}}" : kind === "{%" ? "%}" : "#}";
    const end = source.indexOf(closer, start + 2);
    if (end < 0) fail(start, `${kind} is never closed with ${closer}`);
    const construct = source.slice(start, end + 2);
    if (start > pos) current().push({ text: source.slice(pos, start) });
    pos = end + 2;
    opener.lastIndex = pos;
    if (kind === "{#") continue;
    const inner = source.slice(start + 2, end).trim();
    if (kind === "{%") {
      const ext = new RegExp(`^extends\\s+(?:"([^"]+)"|'([^']+)')$`).exec(inner);
      const block = new RegExp(`^block\\s+(${NAME})$`).exec(inner);
      const endblock = new RegExp(`^endblock(?:\\s+(${NAME}))?$`).exec(inner);
      if (ext) {
        if (extendsName !== null || open.length > 0) fail(start, `${shown(construct)} must come once, outside blocks`);
        extendsName = { name: (ext[1] ?? ext[2])!, line: lineAt(source, start) };
      } else if (block) {
        const nodes: Node[] = [];
        current().push({ block: block[1]!, nodes });
        open.push({ name: block[1]!, nodes, at: start });
      } else if (endblock) {
        const top = open.pop();
        if (!top) fail(start, `${shown(construct)} closes no block`);
        if (endblock[1] !== undefined && endblock[1] !== top!.name) {
          fail(start, `${shown(construct)} closes the block ${top!.name}`);
        }
      } else {
        fail(start, `the statement ${shown(construct)} is not supported (${SUPPORTED})`);
      }
      continue;
    }
    if (!new RegExp(`^${NAME}$`).test(inner)) {
      fail(start, `the expression ${shown(construct)} is not supported (${SUPPORTED})`);
    }
    if (!isVariable(inner)) fail(start, `unknown variable ${inner} (known: ${TEMPLATE_VARIABLES.join(", ")})`);
    current().push({ variable: inner as TemplateVariable, escape });
  }
  if (open.length > 0) fail(open[open.length - 1]!.at, `the block ${open[open.length - 1]!.name} is never closed`);
  // Jinja drops the template's final newline (`keep_trailing_newline` is off in Synapse's environment).
  const last = source.endsWith("\n") ? source.length - 1 : source.length;
  if (pos < last) root.push({ text: source.slice(pos, last) });
  return { extends: extendsName, nodes: root };
}

function blocksOf(nodes: Node[], into = new Map<string, Node[]>()): Map<string, Node[]> {
  for (const n of nodes) {
    if ("block" in n) {
      // The first definition wins, as a child's outermost block replaces the parent's whole.
      if (!into.has(n.block)) into.set(n.block, n.nodes);
      blocksOf(n.nodes, into);
    }
  }
  return into;
}

function flatten(nodes: Node[], overrides: Map<string, Node[]>, out: Part[] = []): Part[] {
  for (const n of nodes) {
    if ("block" in n) flatten(overrides.get(n.block) ?? n.nodes, overrides, out);
    else out.push(n);
  }
  return out;
}

/** Finds a template a file extends: the operator's file of that name, or null when there is none. */
export type ParentLoader = (name: string) => string | null;

/**
 * Reads a template; `file` names it in errors, and each file's name decides its escaping (`.html`/`.htm` escape,
 * as Synapse's `select_autoescape`). A file that extends another is that one with its blocks replaced (Jinja drops
 * what a child has outside its blocks); `_base.html` falls back to Gatehouse's own (`BUILTIN_BASE_HTML`).
 */
export function parseMailTemplate(file: string, source: string, loadParent: ParentLoader = () => null): MailTemplate {
  const chain: { file: string; parsed: Parsed }[] = [{ file, parsed: parseFile(file, source) }];
  for (;;) {
    const { file: child, parsed } = chain[chain.length - 1]!;
    if (parsed.extends === null) break;
    const name = parsed.extends.name;
    if (chain.some((c) => c.file === name) || chain.length > 5) {
      throw new MailTemplateError(`${child} line ${parsed.extends.line}: extends ${name}, which extends it back`);
    }
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name)) {
      throw new MailTemplateError(`${child} line ${parsed.extends.line}: extends ${name}, not a file in template_dir`);
    }
    const parentSource = loadParent(name) ?? (name === "_base.html" ? BUILTIN_BASE_HTML : null);
    if (parentSource === null) {
      throw new MailTemplateError(
        `${child} line ${parsed.extends.line}: extends ${name}, which is not in template_dir`,
      );
    }
    chain.push({ file: name, parsed: parseFile(name, parentSource) });
  }
  // The most derived definition of each block wins.
  const overrides = new Map<string, Node[]>();
  for (const { parsed } of chain) {
    for (const [name, nodes] of blocksOf(parsed.nodes)) if (!overrides.has(name)) overrides.set(name, nodes);
  }
  return { file, parts: flatten(chain[chain.length - 1]!.parsed.nodes, overrides) };
}

/** Markupsafe's escaping, which Synapse's autoescaped `.html` templates get. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderMailTemplate(template: MailTemplate, values: TemplateValues): string {
  return template.parts
    .map((p) => {
      if ("text" in p) return p.text;
      const value = values[p.variable];
      return p.escape ? escapeHtml(value) : value;
    })
    .join("");
}

/** A file of `email.template_dir`: null when it is not there; throws when the directory is not. */
export function readTemplateFile(dir: string, name: string): string | null {
  if (!existsSync(resolve(dir)) || !statSync(resolve(dir)).isDirectory()) throw new Error(`no directory ${dir}`);
  const path = join(resolve(dir), name);
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}
