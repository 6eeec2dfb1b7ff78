/**
 * @module Open Graph data from an HTML page, as Synapse's `parse_html_to_open_graph` finds it: the page's
 * `<meta property="og:*" content>` tags, and where they are missing the fallbacks: `og:title` from the first
 * `<title>`, `<h1>`, `<h2>` or `<h3>`; `og:image` from `<meta itemprop="image">`, else the largest `<img>` with a
 * width and height over 10, else the first `<img>`, else an icon `<link>`; `og:description` from
 * `<meta name="description">`, else the start of the page's text. Parsed as a stream (htmlparser2), no DOM kept.
 */
import { Parser } from "htmlparser2";

/** Synapse keeps at most this many og: tags of a page. */
const MAX_OG_TAGS = 50;
/** Synapse's `summarize_paragraphs` bound for a description made from the page's text. */
const DESCRIPTION_MAX = 500;
/** Text gathered for a description: enough to fill one, not the whole page. */
const TEXT_MAX = 4 * DESCRIPTION_MAX;

/** Elements whose text is not the page's content (Synapse's `_iterate_over_text` skips these). */
const SKIPPED_TEXT = new Set([
  "head",
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "iframe",
  "header",
  "nav",
  "aside",
  "footer",
  "select",
  "textarea",
  "button",
]);
const TITLE_TAGS = new Set(["title", "h1", "h2", "h3"]);

/** The charset a page is in: the Content-Type's, else a `<meta>` one near the start, else UTF-8. */
function charsetOf(body: Buffer, contentType: string): string {
  const fromHeader = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType);
  if (fromHeader) return fromHeader[1]!;
  const head = body.subarray(0, 1024).toString("latin1");
  const fromMeta = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head);
  return fromMeta ? fromMeta[1]! : "utf-8";
}

export function decodeHtml(body: Buffer, contentType: string): string {
  try {
    return new TextDecoder(charsetOf(body, contentType)).decode(body);
  } catch {
    // An unknown label: as browsers do for one they do not know, read it as UTF-8.
    return new TextDecoder("utf-8").decode(body);
  }
}

function summarize(text: string): string | null {
  const t = text.replace(/\s+/g, " ").trim();
  if (t === "") return null;
  if (t.length <= DESCRIPTION_MAX) return t;
  const cut = t.slice(0, DESCRIPTION_MAX);
  const space = cut.lastIndexOf(" ");
  return `${(space > DESCRIPTION_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The Open Graph data of `html`. Image URLs are returned as written (relative ones are the caller's to resolve). */
export function parseOpenGraph(html: string): Record<string, string> {
  const og: Record<string, string> = {};
  let ogCount = 0;
  // One object, as the parser's callbacks fill it: locals assigned only in closures would read as never set.
  const found: {
    title: string | null;
    metaDescription: string | null;
    itempropImage: string | null;
    bigImage: { src: string; area: number } | null;
    firstImage: string | null;
    icon: string | null;
  } = { title: null, metaDescription: null, itempropImage: null, bigImage: null, firstImage: null, icon: null };
  let titleText: string | null = null;
  let titleTag: string | null = null;
  let text = "";
  const open: string[] = [];
  let skipping = 0;

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        open.push(name);
        if (SKIPPED_TEXT.has(name)) skipping++;
        if (found.title === null && titleTag === null && TITLE_TAGS.has(name)) {
          titleTag = name;
          titleText = "";
        }
        if (name === "meta") {
          const property = attrs.property ?? attrs.name;
          const content = attrs.content;
          if (content !== undefined && property?.startsWith("og:") && ogCount < MAX_OG_TAGS) {
            if (!(property in og)) ogCount++;
            og[property] = content;
          }
          if (attrs.name?.toLowerCase() === "description" && content !== undefined) found.metaDescription ??= content;
          if (attrs.itemprop === "image" && content) found.itempropImage ??= content;
        } else if (name === "img" && attrs.src) {
          found.firstImage ??= attrs.src;
          const w = Number(attrs.width);
          const h = Number(attrs.height);
          if (w > 10 && h > 10 && (found.bigImage === null || w * h > found.bigImage.area)) {
            found.bigImage = { src: attrs.src, area: w * h };
          }
        } else if (name === "link" && attrs.href && /\bicon\b/i.test(attrs.rel ?? "")) {
          found.icon ??= attrs.href;
        }
      },
      ontext(data) {
        if (titleText !== null) titleText += data;
        if (skipping === 0 && text.length < TEXT_MAX) text += data;
      },
      onclosetag(name) {
        // htmlparser2 closes implied tags too, so the stack mirrors the element tree.
        while (open.length > 0) {
          const top = open.pop()!;
          if (SKIPPED_TEXT.has(top)) skipping--;
          if (top === name) break;
        }
        if (name === titleTag && titleText !== null) {
          const t = titleText.replace(/\s+/g, " ").trim();
          titleTag = null;
          titleText = null;
          if (t !== "") found.title = t;
        }
        // Block ends separate words that the markup alone kept apart.
        if (skipping === 0) text += " ";
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();

  if (og["og:title"] === undefined && found.title !== null) og["og:title"] = found.title;
  if (og["og:image"] === undefined) {
    const image = found.itempropImage ?? found.bigImage?.src ?? found.firstImage ?? found.icon;
    if (image !== null) og["og:image"] = image;
  }
  if (og["og:description"] === undefined) {
    const description = summarize(found.metaDescription ?? text);
    if (description !== null) og["og:description"] = description;
  }
  return og;
}
