/**
 * Base64 of bytes, in chunks so large inputs stay within the argument limit of
 * `String.fromCharCode`.
 *
 * @module
 */

/**
 * Encode bytes as base64 text.
 *
 * @example
 * ```ts
 * import { bytesToBase64 } from "./base64.ts";
 * console.log(bytesToBase64(new TextEncoder().encode("png"))); // "cG5n"
 * ```
 *
 * @param bytes The bytes.
 * @returns Base64 text.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
