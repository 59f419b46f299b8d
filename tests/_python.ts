// Test helper: a Python that imports the given modules (Debian's /usr/bin/python3 first), or null.

/** The first of /usr/bin/python3 and python3 that imports `modules` (comma-separated). */
export async function findPython(modules: string): Promise<string | null> {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const ok = await new Deno.Command(py, {
      args: ["-c", `import ${modules}`],
      stdout: "null",
      stderr: "null",
    }).output().then((o) => o.success, () => false);
    if (ok) return py;
  }
  return null;
}
