/**
 * Models by URL: `https://…/net.onnx` (its manifest at the same URL with `.json`, the external
 * data files it names, and for a DiffBIR pipeline every member relative to the pipeline) are
 * downloaded once into the model cache (`~/.cache/diffrestore/models/`, `DIFFRESTORE_CACHE`
 * moves it) and used from there afterwards, offline too. Each file is written under a temporary
 * name and renamed when complete and, where a `sha256` is known, verified: a 404, a timeout or a
 * truncated body caches nothing (docs/manifest.md, "Models by URL").
 *
 * @module
 */

import { createHash } from "node:crypto";
import { UserError } from "../lib/errors.ts";
import { externalDataFiles } from "./onnx_external.ts";

/** Progress of a download: the file, bytes so far, and its size when the server says. */
export type DownloadProgress = (file: string, done: number, total: number | null) => void;

/** Options of {@linkcode cachedModelPath}. */
export interface FetchOptions {
  /** The model file's expected SHA-256 (hex), checked after download. */
  sha256?: string;
  /** The manifest's URL when it is not beside the model (`--model-spec URL`). */
  manifestUrl?: string;
  /** Download progress. */
  onProgress?: DownloadProgress;
  /** One line per file fetched. */
  onNote?: (message: string) => void;
}

/**
 * Whether a model spec is a URL.
 *
 * @param spec A path, `builtin:NAME` or URL.
 * @returns True for `http://` and `https://`.
 */
export function isModelUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/**
 * The model cache folder: `DIFFRESTORE_CACHE`, else `$XDG_CACHE_HOME/diffrestore/models`, else
 * `~/.cache/diffrestore/models`.
 *
 * @returns The folder.
 */
export function modelCacheDir(): string {
  const env = (k: string) => {
    try {
      return Deno.env.get(k);
    } catch {
      return undefined;
    }
  };
  const own = env("DIFFRESTORE_CACHE");
  if (own) return own;
  const base = env("XDG_CACHE_HOME") ?? (env("HOME") ? `${env("HOME")}/.cache` : null);
  if (!base) throw new UserError("no model cache: set DIFFRESTORE_CACHE (HOME is not set)");
  return `${base}/diffrestore/models`;
}

/** The cache folder of the URL's directory: files keep their names and relative paths. */
async function _folderFor(url: URL): Promise<string> {
  const dir = new URL(".", url).href;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(dir)),
  );
  const key = [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${modelCacheDir()}/${url.host.replace(/[^\w.-]/g, "_")}-${key}`;
}

function _timeoutMs(): number {
  try {
    const s = Number(Deno.env.get("DIFFRESTORE_DOWNLOAD_TIMEOUT"));
    return Number.isFinite(s) && s > 0 ? s * 1000 : 60_000;
  } catch {
    return 60_000;
  }
}

/**
 * Download `url` to `path` unless it is there: streamed into a temporary file that is renamed
 * when the body is complete and its hash matches; the connection may go quiet for at most the
 * timeout (`DIFFRESTORE_DOWNLOAD_TIMEOUT` seconds, default 60).
 */
async function _download(
  url: string,
  path: string,
  options: FetchOptions,
  sha256?: string,
): Promise<void> {
  if (await Deno.stat(path).then((s) => s.isFile, () => false)) return;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.part`;
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), _timeoutMs());
  };
  const fail = (why: string) => new UserError(`download ${url} failed: ${why}; nothing was cached`);
  let file: Deno.FsFile | null = null;
  try {
    arm();
    const res = await fetch(url, { signal: abort.signal }).catch((e) => {
      throw fail(abort.signal.aborted ? "timed out" : (e as Error).message);
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw fail(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
    }
    const length = res.headers.get("content-length");
    const total = length === null ? null : Number(length);
    options.onNote?.(`downloading ${url}${total === null ? "" : ` (${total} bytes)`}`);
    file = await Deno.open(tmp, { write: true, createNew: true });
    const hash = createHash("sha256");
    let done = 0;
    const reader = res.body.getReader();
    try {
      while (true) {
        arm();
        const { value, done: end } = await reader.read().catch((e) => {
          throw fail(abort.signal.aborted ? "timed out" : (e as Error).message);
        });
        if (end) break;
        hash.update(value);
        for (let off = 0; off < value.length;) off += await file.write(value.subarray(off));
        done += value.length;
        options.onProgress?.(url, done, total);
      }
    } finally {
      reader.releaseLock();
    }
    if (total !== null && done !== total) {
      throw fail(`the body ended after ${done} of ${total} bytes`);
    }
    const digest = hash.digest("hex");
    if (sha256 && digest !== sha256.toLowerCase()) {
      throw fail(`its SHA-256 is ${digest}, expected ${sha256.toLowerCase()}`);
    }
    file.close();
    file = null;
    await Deno.rename(tmp, path);
  } finally {
    clearTimeout(timer);
    file?.close();
    await Deno.remove(tmp).catch(() => {});
  }
}

async function _json(path: string, url: string): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    if (typeof v === "object" && v !== null) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  await Deno.remove(path).catch(() => {});
  throw new UserError(`${url} is not a JSON manifest; nothing was cached`);
}

/** The local file of `rel` in the cached folder of `base`, downloaded when missing. */
async function _member(
  base: URL,
  folder: string,
  rel: string,
  options: FetchOptions,
  sha?: string,
) {
  if (rel.startsWith("/") || rel.includes("..") || isModelUrl(rel)) {
    throw new UserError(`${base.href}: member '${rel}' must be a path relative to it`);
  }
  const path = `${folder}/${rel}`;
  await _download(new URL(rel, base).href, path, options, sha);
  return path;
}

/**
 * A model by URL as a local path: the ONNX file, its manifest (`.json` beside it, or
 * `manifestUrl`) and the external data files it names, downloaded into the cache when missing.
 *
 * @example
 * ```ts ignore
 * import { cachedModelPath } from "./model_cache.ts";
 * const path = await cachedModelPath("https://example.org/models/net.onnx");
 * console.log(path); // ~/.cache/diffrestore/models/example.org-…/net.onnx
 * ```
 *
 * @param url The model's URL (or a DiffBIR pipeline manifest's, ending in `.json`).
 * @param options The expected SHA-256, progress, notes.
 * @returns The local path of the model file (or of the pipeline manifest).
 */
export async function cachedModelPath(url: string, options: FetchOptions = {}): Promise<string> {
  const u = new URL(url);
  const folder = await _folderFor(u);
  const name = decodeURIComponent(u.pathname.slice(u.pathname.lastIndexOf("/") + 1));
  if (!name) throw new UserError(`${url} names no file`);
  if (/\.json$/i.test(name)) return await _pipeline(u, folder, name, options);
  const manifestUrl = options.manifestUrl ?? url.replace(/(\.onnx)?(\?.*)?$/i, ".json");
  const mu = new URL(manifestUrl);
  const manifestPath = options.manifestUrl
    ? `${await _folderFor(mu)}/${mu.pathname.slice(mu.pathname.lastIndexOf("/") + 1)}`
    : `${folder}/${name.replace(/\.onnx$/i, "")}.json`;
  await _download(manifestUrl, manifestPath, options);
  const manifest = await _json(manifestPath, manifestUrl);
  const sha = options.sha256 ?? (typeof manifest.sha256 === "string" ? manifest.sha256 : undefined);
  const model = await _member(u, folder, name, options, sha);
  for (const data of await externalDataFiles(model)) await _member(u, folder, data, options);
  return model;
}

/** A pipeline manifest and every file it names, in one cached folder. */
async function _pipeline(u: URL, folder: string, name: string, options: FetchOptions) {
  const path = await _member(u, folder, name, options);
  const pipeline = await _json(path, u.href);
  for (const key of ["stage1", "vaeEncoder", "vaeDecoder", "denoiser", "textEncoder"]) {
    const rel = pipeline[key];
    if (typeof rel !== "string") continue;
    await _member(u, folder, rel.replace(/\.onnx$/i, "") + ".json", options);
    const model = await _member(u, folder, rel, options);
    for (const data of await externalDataFiles(model)) {
      await _member(
        u,
        folder,
        new URL(data, new URL(rel, u)).href.slice(new URL(".", u).href.length),
        options,
      );
    }
    if (key === "textEncoder") {
      const m = await _json(`${folder}/${rel.replace(/\.onnx$/i, "")}.json`, rel);
      const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/") + 1) : "";
      if (typeof m.vocabulary === "string") await _member(u, folder, dir + m.vocabulary, options);
    }
  }
  return path;
}
