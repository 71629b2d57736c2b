// Times how long the system Chromium takes to open an aadtrace HTML page (for
// benches/README.md, not a test): node open-time.js CHROMIUM PAGE.html [RUNS]
// Prints, per run, the milliseconds until the load event and until the page's
// script is ready (html[data-js=ready]), and the number of DOM elements.
"use strict";

const { chromium } = require("playwright-core");

(async () => {
  const [exe, file, runs = "3"] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: exe,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    for (let i = 0; i < Number(runs); i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto("file://" + file, { waitUntil: "load", timeout: 120000 });
      const loaded = Date.now() - t0;
      await page.waitForSelector("html[data-js=ready]", { timeout: 120000 });
      const ready = Date.now() - t0;
      const elements = await page.evaluate(() => document.getElementsByTagName("*").length);
      console.log(`run ${i + 1}: load ${loaded} ms, script ready ${ready} ms, ${elements} elements`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
