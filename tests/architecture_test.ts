// The layout ARCHITECTURE.md promises: every source file sits in a listed layer and imports only
// from its own layer or lower ones (type-only and dynamic imports included), no source file is
// longer than 600 lines (data files named *_params.ts aside), and mod.ts stays curated.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const layers = (await Deno.readTextFile(`${root}ARCHITECTURE.md`))
  .match(/```layers\n([\s\S]*?)```/)![1].split(/\s+/).filter(Boolean).map((l) =>
    l.replace(/\/$/, "")
  );

async function sources(dir = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(root + dir)) {
    const path = dir + e.name;
    if (e.isDirectory) {
      if (![".git", "node_modules", "tests", "testdata", "demo-out", ".ci"].includes(e.name)) {
        out.push(...await sources(path + "/"));
      }
    } else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The index of the longest listed prefix of `path`, or -1. */
function layerOf(path: string): number {
  let best = -1;
  layers.forEach((l, i) => {
    if ((path === l || path.startsWith(l + "/")) && (best < 0 || l.length > layers[best].length)) {
      best = i;
    }
  });
  return best;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return parts.join("/");
}

const files = await sources();

Deno.test("ARCHITECTURE.md: every source file is in a layer, and imports go only downward", async () => {
  const problems: string[] = [];
  for (const f of files) {
    const own = layerOf(f);
    if (own < 0) {
      problems.push(`${f}: in no layer`);
      continue;
    }
    // doc comments hold examples, not imports
    const text = (await Deno.readTextFile(root + f)).replace(/\/\*\*[\s\S]*?\*\//g, "");
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = normalize(f.split("/").slice(0, -1).join("/") + "/" + m[1]);
      const theirs = layerOf(target);
      if (theirs > own) {
        problems.push(`${f} (${layers[own]}) imports ${target} (${layers[theirs]})`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(files.length > 100, `found ${files.length} source files`);
});

Deno.test("no source file is longer than 600 lines", async () => {
  const long: string[] = [];
  for (const f of files.filter((f) => !f.endsWith("_params.ts"))) {
    const lines = (await Deno.readTextFile(root + f)).split("\n").length - 1;
    if (lines > 600) long.push(`${f}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});

Deno.test("mod.ts is curated: at most 80 names, half its functions and classes with an @example", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", `${root}mod.ts`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  type Decl = { kind: string; jsDoc?: { tags?: { kind: string }[] } };
  const symbols: { name: string; declarations: Decl[] }[] = Object.values(
    doc.nodes as Record<string, { symbols: { name: string; declarations: Decl[] }[] }>,
  )[0].symbols;
  const callables = symbols.filter((s) =>
    s.declarations.some((d) => d.kind === "function" || d.kind === "class")
  );
  const withExample = callables.filter((s) =>
    s.declarations.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example"))
  );
  assert.ok(symbols.length <= 80, `mod.ts exports ${symbols.length} names`);
  assert.ok(symbols.length >= 40, `mod.ts exports ${symbols.length} names: too few to be read`);
  assert.ok(
    withExample.length * 2 >= callables.length,
    `${withExample.length} of ${callables.length} functions and classes have an @example`,
  );
});

/** Functions and methods (declarations, methods, arrow functions with a block) over `max` lines:
 * a header found by its shape, its end by the closing brace at the header's indentation (deno fmt
 * keeps indentation exact). */
function longFunctions(path: string, text: string, max: number): string[] {
  const lines = text.split("\n");
  const keyword =
    /^\s*(if|for|while|switch|catch|else|try|do|return|await|new|throw|const|let|var|export\s+const|export\s+let|case|default)\b/;
  const fn = /\bfunction\b|=>\s*\{\s*$/;
  const method =
    /^\s+(?:(?:public|private|protected|static|async|get|set|override|readonly)\s+)*(?:\[Symbol\.\w+\]|#?\w+)\s*(?:<[^>]*>)?\s*\(/;
  const indent = (l: string) => l.length - l.trimStart().length;
  const long: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const isMethod = method.test(l) && !keyword.test(l);
    if (!fn.test(l) && !isMethod) continue;
    let j = i;
    while (j < lines.length && j < i + 15 && !/[{;]\s*$/.test(lines[j])) j++;
    if (j >= lines.length || !/\{\s*$/.test(lines[j])) continue;
    if (!isMethod && !fn.test(lines.slice(i, j + 1).join(" "))) continue;
    for (let k = j + 1; k < lines.length; k++) {
      const lk = lines[k];
      if (lk.trim() === "" || indent(lk) > indent(l)) continue;
      if (lk.trimStart().startsWith("}") && indent(lk) === indent(l) && k - i + 1 > max) {
        long.push(`${path}:${i + 1} ${l.trim().slice(0, 60)} (${k - i + 1} lines)`);
      }
      break;
    }
  }
  return long;
}

Deno.test("no function or method is longer than 120 lines", async () => {
  const long: string[] = [];
  for (const f of files.filter((f) => !f.endsWith("_params.ts"))) {
    long.push(...longFunctions(f, await Deno.readTextFile(root + f), 120));
  }
  assert.deepEqual(long, []);
  // the finder finds: a 130-line function is reported
  const body = Array.from({ length: 128 }, (_, i) => `  const v${i} = ${i};`).join("\n");
  assert.equal(longFunctions("x.ts", `function big() {\n${body}\n}\n`, 120).length, 1);
});
