/**
 * OpenCLIP's text tokenizer (the `SimpleTokenizer` that DiffBIR's text encoder uses), in
 * TypeScript: the text cleaned (Unicode NFC with ftfy's default character fixes for clean
 * text, HTML references resolved twice, whitespace collapsed), lower-cased, split by CLIP's
 * pattern, each piece byte-encoded and merged by byte-level BPE; start and end tokens around
 * it, truncated and zero-padded to the context length (docs/diffbir.md, "Prompts").
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { htmlUnescape } from "../lib/html_unescape.ts";

/** CLIP's vocabulary holds the 256 byte symbols, their word-final forms, 48894 merges, 2 specials. */
const _MERGES = 49152 - 256 - 2;
const _START = "<start_of_text>", _END = "<end_of_text>";
// Python's regex \s (Unicode White_Space) and CLIP's split pattern
const _WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const _SPLIT = new RegExp(
  `${_START}|${_END}|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${_WS}\\p{L}\\p{N}]+`,
  "giu",
);
const _SPACES = new RegExp(`[${_WS}]+`, "gu");
// Python's str.strip() also strips the separators U+001C..U+001F
const _STRIP = new RegExp(`^[${_WS}\\x1c-\\x1f]+|[${_WS}\\x1c-\\x1f]+$`, "gu");

/**
 * Byte-level BPE's 256 byte symbols: printable bytes stand for themselves, the others for
 * code points from 256 on. Returned in the vocabulary's order (printable bytes first) with the
 * map from byte value to symbol.
 */
function _byteSymbols(): { order: string[]; ofByte: string[] } {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const ofByte = new Array<string>(256);
  for (const b of bytes) ofByte[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (ofByte[b] === undefined) {
      ofByte[b] = String.fromCodePoint(256 + n++);
      bytes.push(b);
    }
  }
  return { order: bytes.map((b) => ofByte[b]), ofByte };
}

/**
 * ftfy's default fixes for text without mojibake: NFC, Latin ligatures spelled out, full-width
 * ASCII made half-width, curly quotes straightened. (Mojibake repair is not ported.)
 */
export function cleanText(text: string): string {
  let t = text.normalize("NFC");
  t = t.replace(/[\ufb00-\ufb06]/g, (c) => c.normalize("NFKC"));
  t = t.replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, " ");
  t = t.replace(/[\u2018\u2019\u201a\u201b]/g, "'").replace(/[\u201c\u201d\u201e\u201f]/g, '"');
  return t;
}

/** OpenCLIP's tokenizer over a loaded BPE vocabulary. */
export class ClipTokenizer {
  /** Token id of each vocabulary entry. */
  readonly #ids = new Map<string, number>();
  /** Merge rank of each symbol pair (`a b`). */
  readonly #ranks = new Map<string, number>();
  readonly #cache = new Map<string, string[]>();
  readonly #bytes = _byteSymbols().ofByte;
  /** The start-of-text id. */
  readonly startId: number;
  /** The end-of-text id. */
  readonly endId: number;

  /**
   * A tokenizer from the merges file's text (`bpe_simple_vocab_16e6.txt`, decompressed).
   *
   * @param merges The merges, one pair per line after a header line.
   */
  constructor(merges: string) {
    const lines = merges.split("\n").slice(1, _MERGES + 1).map((l) => l.split(/ +/));
    if (lines.length !== _MERGES || lines.some((l) => l.length < 2)) {
      throw new UserError(`the BPE vocabulary has ${lines.length} merges, CLIP's has ${_MERGES}`);
    }
    const { order } = _byteSymbols();
    const vocab = [...order, ...order.map((s) => s + "</w>")];
    lines.forEach(([a, b], rank) => {
      vocab.push(a + b);
      this.#ranks.set(`${a} ${b}`, rank);
    });
    vocab.push(_START, _END);
    vocab.forEach((v, i) => this.#ids.set(v, i));
    this.startId = this.#ids.get(_START)!;
    this.endId = this.#ids.get(_END)!;
  }

  /**
   * Load a tokenizer from OpenCLIP's gzip-compressed merges file.
   *
   * @param path The `.txt.gz` (or plain `.txt`) file.
   * @returns The tokenizer.
   */
  static async load(path: string): Promise<ClipTokenizer> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      throw new UserError(`tokenizer vocabulary ${path} not found`);
    }
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
        .pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    return new ClipTokenizer(new TextDecoder().decode(bytes));
  }

  /** Byte-level BPE of one byte-encoded piece: the merges applied lowest rank first. */
  #bpe(token: string): string[] {
    const cached = this.#cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), chars[chars.length - 1] + "</w>"];
    while (word.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const [a, b] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length;) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i += 2;
        } else merged.push(word[i++]);
      }
      word = merged;
    }
    this.#cache.set(token, word);
    return word;
  }

  /**
   * The token ids of a text, without start and end tokens.
   *
   * @param text The text.
   * @returns The ids.
   */
  encode(text: string): number[] {
    // basic_clean (fix, unescape twice, strip), whitespace_clean (collapse, strip), lower
    const basic = htmlUnescape(htmlUnescape(cleanText(text))).replace(_STRIP, "");
    const cleaned = basic.replace(_SPACES, " ").replace(_STRIP, "").toLowerCase();
    const ids: number[] = [];
    const utf8 = new TextEncoder();
    for (const m of cleaned.matchAll(_SPLIT)) {
      const piece = Array.from(utf8.encode(m[0]), (b) => this.#bytes[b]).join("");
      for (const sym of this.#bpe(piece)) ids.push(this.#ids.get(sym)!);
    }
    return ids;
  }

  /**
   * The model input for a text: start token, ids, end token, truncated to `length` (the end
   * token kept last) and zero-padded.
   *
   * @example
   * ```ts ignore
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tok = await ClipTokenizer.load("exported/bpe_simple_vocab_16e6.txt.gz");
   * console.log(tok.tokenize("a photo").slice(0, 4)); // [49406, 320, 1125, 49407]
   * ```
   *
   * @param text The text.
   * @param length The context length (CLIP: 77).
   * @returns `length` token ids.
   */
  tokenize(text: string, length = 77): Int32Array {
    const ids = [this.startId, ...this.encode(text), this.endId];
    if (ids.length > length) {
      ids.length = length;
      ids[length - 1] = this.endId;
    }
    const out = new Int32Array(length);
    out.set(ids);
    return out;
  }
}
