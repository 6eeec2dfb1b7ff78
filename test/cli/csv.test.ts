/**
 * The CSV reader of `gatehouse user import`: RFC 4180 (quotes, doubled quotes, line breaks in quotes, CRLF), a BOM,
 * the line each record starts on, and the import file's header rules.
 */
import { describe, expect, it } from "vitest";
import { CsvError, parseCsv, parseImportCsv } from "../../src/shared/csv.js";

function csvError(text: string, parse: (t: string) => unknown = parseImportCsv): CsvError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof CsvError) return err;
    throw err;
  }
  throw new Error("expected a CsvError");
}

describe("parseCsv", () => {
  it("reads plain fields, empty fields and a missing final newline", () => {
    expect(parseCsv("a,b,c\n1,,3\n,,\nx,y,z")).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["1", "", "3"] },
      { line: 3, fields: ["", "", ""] },
      { line: 4, fields: ["x", "y", "z"] },
    ]);
  });

  it("reads quoted fields with commas, doubled quotes and line breaks, numbering records by their first line", () => {
    const text = 'name,note\n"Smith, Jo","say ""hi"""\n"multi\nline\r\nnote",after\nlast,"" \n';
    expect(() => parseCsv(text)).toThrow(CsvError);
    expect(parseCsv('name,note\n"Smith, Jo","say ""hi"""\n"multi\nline\r\nnote",after\nlast,""\n')).toEqual([
      { line: 1, fields: ["name", "note"] },
      { line: 2, fields: ["Smith, Jo", 'say "hi"'] },
      { line: 3, fields: ["multi\nline\r\nnote", "after"] },
      { line: 6, fields: ["last", ""] },
    ]);
  });

  it("takes CRLF line ends, skips blank lines and strips a UTF-8 BOM", () => {
    expect(parseCsv("\uFEFFa,b\r\n\r\n1,2\r\n\n3,4\r\n")).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 3, fields: ["1", "2"] },
      { line: 5, fields: ["3", "4"] },
    ]);
  });

  it("keeps spaces and non-ASCII text as they are", () => {
    expect(parseCsv(" a , Zoë 🦊 \n")).toEqual([{ line: 1, fields: [" a ", " Zoë 🦊 "] }]);
  });

  it("names the line of an unclosed quote, of text after a closing quote and of a stray quote", () => {
    expect(csvError('a\n"open\n\nstill open', parseCsv).message).toBe("line 2: a quoted field is not closed");
    expect(csvError('a,b\n"x"y,z', parseCsv).message).toBe(
      'line 2: text after a closing quote (write a quote inside a quoted field as "")',
    );
    expect(csvError('a,b\nx,y\nab"c,d', parseCsv)).toMatchObject({
      line: 3,
      message: "line 3: a quote inside an unquoted field (quote the whole field)",
    });
  });
});

describe("parseImportCsv", () => {
  it("maps the columns, in any order and any case, onto rows with their lines", () => {
    const rows = parseImportCsv(
      'Email,USERNAME, password_hash ,admin,displayname,password\nA@x.org,alice,$2b$x,yes,"Alice, A",\n\n,bob,,,,pw\n',
    );
    expect(rows).toEqual([
      {
        line: 2,
        username: "alice",
        email: "A@x.org",
        password_hash: "$2b$x",
        admin: "yes",
        displayname: "Alice, A",
        password: "",
      },
      { line: 4, username: "bob", email: "", password_hash: "", admin: "", displayname: "", password: "pw" },
    ]);
  });

  it("needs only the username column", () => {
    expect(parseImportCsv("username\ncarol\n")).toEqual([{ line: 2, username: "carol" }]);
  });

  it("refuses an empty file, unknown or repeated columns and a header without username", () => {
    expect(csvError("").message).toBe(
      "line 1: the file is empty: the first line must name the columns (username,password,password_hash,displayname,admin,email)",
    );
    expect(csvError("username,pasword,shell\n").message).toBe(
      'line 1: unknown columns "pasword", "shell" (known: username, password, password_hash, displayname, admin, email)',
    );
    expect(csvError("\n\nusername,name\n").message).toBe(
      'line 3: unknown column "name" (known: username, password, password_hash, displayname, admin, email)',
    );
    expect(csvError("username,email,Email\n").message).toBe('line 1: column "email" appears twice');
    expect(csvError("password,email\n").message).toBe('line 1: the header has no "username" column');
  });

  it("names the line of a record with the wrong number of fields", () => {
    expect(csvError('username,password\na,"x\ny"\nb\n').message).toBe("line 4: 1 fields, but the header has 2");
    expect(csvError("username,password_hash\na,$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA\n").message).toBe(
      'line 2: 4 fields, but the header has 2 (an argon2id hash has commas in it: put it in double quotes, "$argon2id$v=19$m=...,t=...,p=...$...")',
    );
  });
});
