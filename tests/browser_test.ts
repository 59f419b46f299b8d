// The preview page in a real headless Chromium (Debian's package, driven by playwright-core):
// upload a photo, wait for the result, check its size, save a screenshot. Skipped, with a
// printed reason, when Chromium is not installed (.ci/run installs it).
import assert from "node:assert/strict";
import { createPreviewHandler } from "../preview/handler.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const have = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!have) {
  console.log(`skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

Deno.test({
  name: "browser: upload on the preview page, see before/after, screenshot",
  ignore: !have,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { chromium } = await import("playwright-core");
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      createPreviewHandler({ defaultSteps: 8 }),
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      assert.equal(await page.title(), "diffrestore preview");
      await page.setInputFiles(
        "#file",
        new URL("../assets/rocket_256.png", import.meta.url).pathname,
      );
      await page.selectOption("#task", "sr");
      await page.fill("#scale", "4");
      await page.fill("#steps", "10");
      await page.click("#go");
      await page.waitForSelector("#status[data-done], #status[data-error]", { timeout: 60_000 });
      const error = await page.getAttribute("#status", "data-error");
      assert.equal(error, null, `the page reported: ${error}`);
      assert.equal(await page.getAttribute("#status", "data-done"), "256x256");
      const natural = await page.$eval(
        "#after",
        (
          img,
        ) => [
          (img as { naturalWidth: number }).naturalWidth,
          (img as { naturalHeight: number }).naturalHeight,
        ],
      );
      assert.deepEqual(natural, [256, 256]);
      await page.fill("#slider", "20");
      const dir = Deno.env.get("ARTIFACTS") ??
        (await Deno.makeTempDir({ prefix: "diffrestore-browser-" }));
      await Deno.mkdir(dir, { recursive: true });
      const shot = `${dir}/preview_page.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`browser test screenshot: ${shot}`);
      assert.ok((await Deno.stat(shot)).size > 10_000);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
