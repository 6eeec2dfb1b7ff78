/**
 * The operator's mail templates (`email.template_dir`): the Jinja subset rendered exactly (variables, HTML escaping in
 * `.html` only, comments, the final newline), everything else refused at start-up naming file, line and construct,
 * and a file that is not there leaving Gatehouse's text in place.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MailTemplateError, parseMailTemplate, renderMailTemplate } from "../../src/config/mail-template.js";
import { ConfigError } from "../../src/config/validate.js";
import { createTestDatabase, tempDir } from "../helpers/databases.js";
import { configFrom, rawConfigFor } from "../helpers/server.js";

const SUPPORTED = "only {{ variable }}, {# comments #}, {% extends %} and {% block %}";

const VALUES = {
  link: "https://m.example.org/submit?token=a&sid=<b>",
  server_name: "example.org",
  app_name: `Tom & "Jerry's"`,
};

describe("parseMailTemplate and renderMailTemplate", () => {
  it("fills variables, escaping them in .html as Synapse's autoescape does and not in .txt", () => {
    const source = `<a href="{{ link }}">{{link}}</a> {{  app_name }} on {{ server_name }} & more\n`;
    expect(renderMailTemplate(parseMailTemplate("registration.html", source), VALUES)).toBe(
      `<a href="https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;">` +
        `https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;</a> Tom &#38; &#34;Jerry&#39;s&#34; on example.org & more`,
    );
    expect(
      renderMailTemplate(parseMailTemplate("registration.txt", "Open {{ link }}\n\nThanks, {{ app_name }}\n"), VALUES),
    ).toBe(`Open https://m.example.org/submit?token=a&sid=<b>\n\nThanks, Tom & "Jerry's"`);
  });

  it("drops comments and only the final newline, as Jinja does; text without tags is kept as it is", () => {
    const t = parseMailTemplate("password_reset.txt", "{# a note for the operator #}Reset: {{ link }}\n\n");
    expect(renderMailTemplate(t, VALUES)).toBe("Reset: https://m.example.org/submit?token=a&sid=<b>\n");
    expect(renderMailTemplate(parseMailTemplate("x.txt", "plain { braces } only"), VALUES)).toBe(
      "plain { braces } only",
    );
  });

  it("refuses every construct it does not render, naming the file, the line and the construct", () => {
    const refused = (file: string, source: string) => {
      try {
        parseMailTemplate(file, source);
      } catch (err) {
        expect(err).toBeInstanceOf(MailTemplateError);
        return (err as Error).message;
      }
      throw new Error(`${source} was accepted`);
    };
    expect(refused("registration.html", `<p>\n{% include "footer.html" %}`)).toBe(
      `registration.html line 2: the statement {% include "footer.html" %} is not supported (${SUPPORTED})`,
    );
    expect(refused("add_threepid.txt", "Hello\n\n{% if app_name %}x{% endif %}")).toMatch(
      /^add_threepid\.txt line 3: the statement \{% if app_name %\}/,
    );
    expect(refused("a.html", "{{ link | safe }}")).toBe(
      `a.html line 1: the expression {{ link | safe }} is not supported (${SUPPORTED})`,
    );
    expect(refused("a.html", "{{- link }}")).toMatch(/the expression \{\{- link \}\} is not supported/);
    expect(refused("a.html", "{{ user.name }}")).toMatch(/the expression \{\{ user\.name \}\} is not supported/);
    expect(refused("a.txt", "\n{{ unsubscribe_link }}")).toBe(
      "a.txt line 2: unknown variable unsubscribe_link (known: link, server_name, app_name)",
    );
    expect(refused("a.txt", "see {{ link ")).toBe("a.txt line 1: {{ is never closed with }}");
    expect(refused("a.txt", "{# never closed")).toBe("a.txt line 1: {# is never closed with #}");
  });
});

describe("{% extends %} and {% block %}", () => {
  // Synapse's registration.html, as its operators copy it: a child of _base.html.
  const SYNAPSE_STYLE =
    `{% extends "_base.html" %}\n{% block title %}Registration{% endblock %}\n\n{% block body %}\n` +
    `<p>Confirm:</p>\n<a href="{{ link }}">Verify Your Email Address</a>\n{% endblock %}\n`;

  it("renders a child of Gatehouse's _base.html: the parent's page with the child's blocks, nothing else of the child", () => {
    const t = parseMailTemplate("registration.html", SYNAPSE_STYLE);
    expect(renderMailTemplate(t, VALUES)).toBe(
      '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Registration</title>\n' +
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n</head>\n<body>\n' +
        '\n<p>Confirm:</p>\n<a href="https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;">Verify Your Email Address</a>\n' +
        "\n</body>\n</html>",
    );
  });

  it("uses the operator's parent from template_dir, its defaults for blocks the child leaves out, and nested blocks", () => {
    const parents: Record<string, string> = {
      "_base.html":
        "<h1>{% block title %}{{ app_name }}{% endblock %}</h1>{% block body %}{% endblock %}{% block footer %}<i>{{ server_name }}</i>{% endblock footer %}",
      "layout.txt":
        "== {% block head %}{{ app_name }}{% block sub %}!{% endblock %}{% endblock %} ==\n{% block body %}{% endblock %}",
    };
    const load = (name: string) => parents[name] ?? null;
    const html = parseMailTemplate(
      "add_threepid.html",
      `{% extends '_base.html' %}{% block body %}{{ link }}{% endblock %}`,
      load,
    );
    expect(renderMailTemplate(html, VALUES)).toBe(
      `<h1>Tom &#38; &#34;Jerry&#39;s&#34;</h1>https://m.example.org/submit?token=a&#38;sid=&#60;b&#62;<i>example.org</i>`,
    );
    const text = parseMailTemplate(
      "add_threepid.txt",
      `{% extends "layout.txt" %}{% block sub %}?{% endblock %}{% block body %}{{ link }}{% endblock %}`,
      load,
    );
    expect(renderMailTemplate(text, VALUES)).toBe(
      `== Tom & "Jerry's"? ==\nhttps://m.example.org/submit?token=a&sid=<b>`,
    );
  });

  it("refuses a parent it cannot find or render, a loop, and blocks that do not close", () => {
    const message = (source: string, parents: Record<string, string> = {}) => {
      try {
        parseMailTemplate("registration.html", source, (n) => parents[n] ?? null);
      } catch (err) {
        expect(err).toBeInstanceOf(MailTemplateError);
        return (err as Error).message;
      }
      throw new Error(`${source} was accepted`);
    };
    expect(message(`{% extends "page.html" %}`)).toBe(
      "registration.html line 1: extends page.html, which is not in template_dir",
    );
    expect(message(`{% extends "../../etc/passwd" %}`)).toBe(
      "registration.html line 1: extends ../../etc/passwd, not a file in template_dir",
    );
    // Synapse's own _base.html chooses a logo with {% if %}: the operator's copy must drop it.
    expect(
      message(`{% extends "_base.html" %}`, { "_base.html": `<header>\n{% if app_name == "Riot" %}x{% endif %}` }),
    ).toBe(`_base.html line 2: the statement {% if app_name == "Riot" %} is not supported (${SUPPORTED})`);
    expect(message(`{% extends "a.html" %}`, { "a.html": `{% extends "registration.html" %}` })).toBe(
      "a.html line 1: extends registration.html, which extends it back",
    );
    expect(message(`{% block body %}x`)).toBe("registration.html line 1: the block body is never closed");
    expect(message(`{% block body %}x{% endblock title %}`)).toBe(
      "registration.html line 1: {% endblock title %} closes the block body",
    );
    expect(message(`x{% endblock %}`)).toBe("registration.html line 1: {% endblock %} closes no block");
  });
});

describe("email.template_dir in the configuration", () => {
  const email = { smtp_host: "127.0.0.1", notif_from: "Gatehouse <noreply@example.org>" };
  const load = async (templateDir: string) =>
    configFrom(
      rawConfigFor(await createTestDatabase("sqlite", { empty: true }), {
        public_baseurl: "https://m.example.org/",
        email: { ...email, template_dir: templateDir },
      }),
    );

  it("reads the files that are there; the others stay null (Gatehouse's text)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "registration.txt"), "Confirm: {{ link }}\n");
    writeFileSync(join(dir, "password_reset.html"), "<p>{{ link }}</p>");
    const templates = (await load(dir)).email!.templates;
    expect(templates.registration.text?.file).toBe("registration.txt");
    expect(templates.registration.html).toBeNull();
    expect(templates.password_reset.html?.file).toBe("password_reset.html");
    expect(templates.add_threepid).toEqual({ html: null, text: null });
    expect(templates.registration_invite).toEqual({ html: null, text: null });
  });

  it("refuses to start with a template it cannot render, or a directory that is not there", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "add_threepid.html"), `{% extends "_base.html" %}`);
    writeFileSync(join(dir, "_base.html"), `<body>{% if app_name %}{% endif %}</body>`);
    const bad = await load(dir).catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as ConfigError).problems.map((p) => `${p.key}: ${p.message}`)).toEqual([
      `email.template_dir: _base.html line 1: the statement {% if app_name %} is not supported (${SUPPORTED})`,
    ]);
    const missing = join(dir, "nowhere");
    const gone = await load(missing).catch((err: unknown) => err);
    expect((gone as ConfigError).problems.map((p) => p.key)).toEqual(["email.template_dir"]);
    expect((gone as ConfigError).problems[0]!.message).toBe(`registration.html: no directory ${missing}`);
    mkdirSync(join(dir, "empty"));
    expect((await load(join(dir, "empty"))).email!.templates.registration).toEqual({ html: null, text: null });
  });
});
