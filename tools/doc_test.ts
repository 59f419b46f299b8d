// Run every code example in the published source as a test (`deno test --doc`): the files with a
// ```ts block, outside tests/ and tools/. The entry points' examples import the package by its
// own name (@diffrestore/sampler), as a JSR user would.
// Run: deno run -A tools/doc_test.ts [extra deno test flags]
const root = new URL("../", import.meta.url).pathname;
const skip = ["tests", "testdata", "tools", "node_modules", "demo-out", ".git", ".ci"];

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(root + dir)) {
    const path = dir + e.name;
    if (e.isDirectory && !skip.includes(e.name)) yield* sources(`${path}/`);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

const files: string[] = [];
for await (const f of sources("")) {
  if ((await Deno.readTextFile(root + f)).includes("```ts")) files.push(f);
}
files.sort();
console.log(`doc tests: the examples of ${files.length} files`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", ...Deno.args, ...files],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
