import { describe, expect, it } from "vitest";
import { canonicalJson, CanonicalJsonError, compareKeys } from "../../src/matrix/canonical-json.js";

// The spec's own examples (Appendices → Canonical JSON → Examples), as parsed JSON text.
const SPEC_EXAMPLES: [string, string][] = [
  ["{}", "{}"],
  ['{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'],
  ['{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'],
  ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
  [
    '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": {"display_name": "John Doe",' +
      ' "three_pids": [{"medium": "email", "address": "john.doe@example.org"}, {"medium": "msisdn",' +
      ' "address": "123456789"}]}}}',
    '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":' +
      '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},' +
      '"success":true}}',
  ],
  ['{"a": "日本語"}', '{"a":"日本語"}'],
  ['{"本": 2, "日": 1}', '{"日":1,"本":2}'],
  ['{"a": "\\u65E5"}', '{"a":"日"}'],
  ['{"a": null}', '{"a":null}'],
  ['{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'],
];

describe("canonical JSON", () => {
  it.each(SPEC_EXAMPLES)("%s", (input, expected) => {
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it("escapes control characters the way JSON requires, and nothing else", () => {
    expect(canonicalJson({ a: '\n\t\u0001"\\/é' })).toBe('{"a":"\\n\\t\\u0001\\"\\\\/é"}');
  });

  it("orders keys by code point, not by UTF-16 unit", () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FF01 by units but after it by code points.
    const keys = ["\u{1F600}", "\uFF01", "a"];
    expect([...keys].sort(compareKeys)).toEqual(["a", "\uFF01", "\u{1F600}"]);
    expect(canonicalJson({ "\u{1F600}": 1, "\uFF01": 2 })).toBe('{"！":2,"😀":1}');
  });

  it("leaves out undefined members and keeps nested arrays in order", () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: undefined })).toBe('{"b":[3,{"c":2,"d":1}]}');
  });

  it.each([1.5, Number.NaN, Infinity, 2 ** 53, -(2 ** 53)])("refuses the number %s", (n) => {
    expect(() => canonicalJson({ n })).toThrow(CanonicalJsonError);
  });

  it("accepts the largest safe integers", () => {
    expect(canonicalJson([2 ** 53 - 1, -(2 ** 53) + 1])).toBe("[9007199254740991,-9007199254740991]");
  });
});
