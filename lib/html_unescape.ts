/**
 * HTML character references resolved as the HTML standard (and Python's `html.unescape`, which
 * OpenCLIP's tokenizer applies twice) resolves them: named references, with the longest known
 * prefix where a name runs on; decimal and hexadecimal references, with the standard's
 * replacements for Windows-1252 codes and invalid code points.
 *
 * @module
 */

import {
  HTML_ENTITIES,
  HTML_INVALID_CODEPOINTS,
  HTML_NUMERIC_REPLACEMENTS,
} from "./html_entities_params.ts";

const _REF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;
const _INVALID = new Set(HTML_INVALID_CODEPOINTS);

function _numeric(ref: string): string {
  const hex = ref[1] === "x" || ref[1] === "X";
  const num = parseInt(ref.slice(hex ? 2 : 1).replace(/;$/, ""), hex ? 16 : 10);
  if (num in HTML_NUMERIC_REPLACEMENTS) return HTML_NUMERIC_REPLACEMENTS[num];
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
  if (_INVALID.has(num)) return "";
  return String.fromCodePoint(num);
}

function _named(ref: string): string {
  if (Object.hasOwn(HTML_ENTITIES, ref)) return HTML_ENTITIES[ref];
  // the longest known name that starts the reference, the rest kept as text
  for (let n = ref.length - 1; n > 1; n--) {
    const head = ref.slice(0, n);
    if (Object.hasOwn(HTML_ENTITIES, head)) return HTML_ENTITIES[head] + ref.slice(n);
  }
  return "&" + ref;
}

/**
 * Replace the HTML character references of `text` by the characters they stand for.
 *
 * @example
 * ```ts
 * import { htmlUnescape } from "./html_unescape.ts";
 * console.log(htmlUnescape("caf&eacute; &amp; &#x1F600; &lt;b&gt;")); // café & 😀 <b>
 * ```
 *
 * @param text The text.
 * @returns The text with its references resolved.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(_REF, (_m, ref: string) => (ref[0] === "#" ? _numeric(ref) : _named(ref)));
}
