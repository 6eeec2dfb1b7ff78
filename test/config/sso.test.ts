/**
 * The SSO keys and the template subset: what Synapse's operators write renders as Jinja2 renders it, and what it
 * cannot render stops start-up naming the construct and the key.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileTemplate, TemplateError } from "../../src/config/sso-template.js";
import { ConfigError, validateConfig, type RawConfig } from "../../src/config/validate.js";

const render = (t: string, user: Record<string, unknown>) => compileTemplate(t).render(user);

describe("templates", () => {
  const user = { sub: "abc", email: "Alice.Smith@Example.org", name: "  Alice  ", groups: { main: "staff" }, n: 7 };

  it("renders claims, dotted paths and literals", () => {
    expect(render("{{ user.sub }}", user)).toBe("abc");
    expect(render("id-{{user.sub}}-{{ user.groups.main }}", user)).toBe("id-abc-staff");
    expect(render("{{ user.n }}", user)).toBe("7");
    expect(render("{{ 'x' | upper }}", user)).toBe("X");
    expect(render("plain", user)).toBe("plain");
  });

  it("applies the filters operators use", () => {
    expect(render("{{ user.email | localpart_from_email }}", user)).toBe("Alice.Smith");
    expect(render("{{ user.email | localpart_from_email | lower }}", user)).toBe("alice.smith");
    expect(render("{{ user.email | upper }}", user)).toBe("ALICE.SMITH@EXAMPLE.ORG");
    expect(render("{{ user.name | trim }}", user)).toBe("Alice");
    expect(render("{{ user.email | replace('.', '_') }}", user)).toBe("Alice_Smith@Example_org");
    expect(render('{{ user.email | replace(".", "", 1) }}', user)).toBe("AliceSmith@Example.org");
  });

  it("renders a missing claim as empty, and default replaces only that unless asked", () => {
    expect(render("[{{ user.missing }}]", user)).toBe("[]");
    expect(render("{{ user.groups.none.deeper }}", user)).toBe("");
    expect(render("{{ user.missing | default('anon') }}", user)).toBe("anon");
    expect(render("{{ user.empty | default('anon') }}", { empty: "" })).toBe("");
    expect(render("{{ user.empty | default('anon', true) }}", { empty: "" })).toBe("anon");
  });

  it("reports the claims a template reads", () => {
    expect(compileTemplate("{{ user.given }} {{ user.family | upper }}").claims).toEqual(["given", "family"]);
  });

  it.each([
    ["{% if user.a %}x{% endif %}", "statements"],
    ["{{ user.a ~ user.b }}", '"~"'],
    ["{{ user['a'] }}", '"["'],
    ["{{ user.a | title }}", 'unsupported filter "title"'],
    ["{{ other.a }}", 'unknown variable "other.a"'],
    ["{{ user.a", 'unclosed "{{"'],
    ["{{ }}", "empty expression"],
    ["{{ user.a | replace('x') }}", "takes 2 to 3 arguments"],
    ["{{ user.a | default(user.b) }}", "unknown variable"],
  ])("refuses %s", (source, message) => {
    expect(() => compileTemplate(source)).toThrow(TemplateError);
    expect(() => compileTemplate(source)).toThrow(message);
  });
});

function validate(extra: RawConfig) {
  const raw = { server_name: "example.org", database: { name: "sqlite3", args: { database: ":memory:" } }, ...extra };
  return validateConfig(raw, new Map(Object.keys(raw).map((k) => [k, "hs.yaml"])), {
    readSecretFile: (p) => `secret from ${p}\n`,
  });
}

function problems(extra: RawConfig): string[] {
  try {
    validate(extra);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
  return [];
}

const PROVIDER = {
  idp_id: "kc",
  idp_name: "Keycloak",
  issuer: "https://id.example.org/realms/x",
  client_id: "gh",
  client_secret: "s",
};

describe("oidc_providers", () => {
  it("reads a provider with Synapse's defaults and its prefixed idp_id", () => {
    const { config } = validate({ oidc_providers: [PROVIDER] });
    const p = config.oidc_providers[0]!;
    expect(p).toMatchObject({
      idp_id: "oidc-kc",
      discover: true,
      client_auth_method: "client_secret_basic",
      pkce_method: "auto",
      scopes: ["openid"],
      user_profile_method: "auto",
      allow_existing_users: false,
      enable_registration: true,
      backchannel_logout_enabled: false,
    });
    expect(p.user_mapping_provider.subject_template.render({ sub: "42" })).toBe("42");
    expect(p.user_mapping_provider.localpart_template).toBeNull();
    expect(config.sso).toEqual({
      client_whitelist: [],
      registration_when_closed: true,
      update_profile_information: false,
    });
    expect(validate({}).config.oidc_providers).toEqual([]);
  });

  it("keeps idp_id oidc unprefixed, as Synapse does for old oidc_config installs", () => {
    expect(validate({ oidc_providers: [{ ...PROVIDER, idp_id: "oidc" }] }).config.oidc_providers[0]!.idp_id).toBe(
      "oidc",
    );
  });

  it("reads client_secret_path", () => {
    const { config } = validate({ oidc_providers: [{ ...PROVIDER, client_secret: null, client_secret_path: "/s" }] });
    expect(config.oidc_providers[0]!.client_secret).toBe("secret from /s");
  });

  it("reads extra_attributes as templates, refusing a login response field's name and a non-template", () => {
    const { config } = validate({
      oidc_providers: [
        { ...PROVIDER, user_mapping_provider: { config: { extra_attributes: { who: "{{ user.a }}" } } } },
      ],
    });
    expect(config.oidc_providers[0]!.user_mapping_provider.extra_attributes.who!.render({ a: "x" })).toBe("x");
    const at = "oidc_providers[0].user_mapping_provider.config.extra_attributes";
    expect(
      problems({
        oidc_providers: [
          {
            ...PROVIDER,
            user_mapping_provider: {
              config: { extra_attributes: { access_token: "{{ user.a }}", n: 3, f: "{{ user.a | capitalize }}" } },
            },
          },
        ],
      }),
    ).toEqual([
      `${at}.access_token: is a field of the login response itself; choose another name`,
      `${at}.n: must be a template string`,
      `${at}.f: cannot be rendered: unsupported filter "capitalize"`,
    ]);
  });

  it("reads client_secret_jwt_key: a PEM key whose type fits the header's alg; a client_secret wins", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" });
    const jwtKey = { key: ec, jwt_header: { alg: "ES256", kid: "k" }, jwt_payload: { iss: "team" } };
    const base = { ...PROVIDER, client_secret: undefined };
    const { config } = validate({ oidc_providers: [{ ...base, client_secret_jwt_key: jwtKey }] });
    expect(config.oidc_providers[0]!.client_secret_jwt_key).toEqual(jwtKey);
    const both = validate({ oidc_providers: [{ ...PROVIDER, client_secret_jwt_key: jwtKey }] });
    expect(both.config.oidc_providers[0]!.client_secret_jwt_key).toBeNull();
    const at = "oidc_providers[0].client_secret_jwt_key";
    expect(problems({ oidc_providers: [{ ...base, client_secret_jwt_key: { ...jwtKey, key: "not a key" } }] })).toEqual(
      [
        expect.stringContaining(`${at}.key: is not a PEM private key`),
        "oidc_providers[0].client_secret: client_secret, client_secret_path or client_secret_jwt_key is required with client_secret_basic",
      ],
    );
    expect(
      problems({ oidc_providers: [{ ...base, client_secret_jwt_key: { ...jwtKey, jwt_header: { alg: "RS256" } } }] }),
    ).toEqual([`${at}.jwt_header.alg: RS256 needs an rsa key, not ec`]);
    expect(
      problems({ oidc_providers: [{ ...base, client_secret_jwt_key: { ...jwtKey, jwt_header: { alg: "HS256" } } }] }),
    ).toEqual([
      `${at}.jwt_header.alg: must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA`,
      "oidc_providers[0].client_secret: client_secret, client_secret_path or client_secret_jwt_key is required with client_secret_basic",
    ]);
  });

  it("reports every problem with its key", () => {
    expect(
      problems({
        oidc_providers: [
          { idp_id: "bad id", client_auth_method: "magic", scopes: ["email"], idp_icon: "http://x/y.png" },
          { ...PROVIDER, client_secret_path: "/s", discover: false },
          PROVIDER,
          { ...PROVIDER, issuer: "http://plain.example" },
          {
            ...PROVIDER,
            idp_id: "t",
            attribute_requirements: [{ attribute: "g", value: "a", one_of: ["b"] }],
            user_mapping_provider: { config: { localpart_template: "{{ user.a | capitalize }}" } },
          },
        ],
        sso: { client_whitelist: "https://x/" },
      }),
    ).toEqual([
      "sso.client_whitelist: must be a list of URL prefixes",
      "oidc_providers[0].idp_id: must be 1 to 245 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'",
      "oidc_providers[0].issuer: is required",
      "oidc_providers[0].client_id: is required",
      'oidc_providers[0].client_auth_method: must be one of client_secret_basic, client_secret_post, none (got "magic")',
      "oidc_providers[0].client_secret: client_secret, client_secret_path or client_secret_jwt_key is required with client_secret_basic",
      'oidc_providers[0].scopes: must include "openid"',
      "oidc_providers[0].idp_icon: must be an mxc:// URI",
      "oidc_providers[1].client_secret_path: client_secret and client_secret_path are both set; set one",
      "oidc_providers[1].client_secret: client_secret, client_secret_path or client_secret_jwt_key is required with client_secret_basic",
      "oidc_providers[1].authorization_endpoint: is required when discover is false",
      "oidc_providers[1].token_endpoint: is required when discover is false",
      'oidc_providers[2].idp_id: duplicate idp_id "oidc-kc"',
      "oidc_providers[3].issuer: must be an https:// URL (http:// only with skip_verification: true)",
      'oidc_providers[3].idp_id: duplicate idp_id "oidc-kc"',
      "oidc_providers[4].attribute_requirements[0]: set value or one_of, not both",
      'oidc_providers[4].user_mapping_provider.config.localpart_template: cannot be rendered: unsupported filter "capitalize"',
    ]);
  });
});
