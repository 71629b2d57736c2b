// Drives aadtrace's HTML report in the system Chromium through playwright-core.
// Run by tests/html_browser.rs with one argument: a JSON file naming the pages
// and what the Rust side expects of them (computed from the analysis, not
// from the page). Exits non-zero with a message on the first failed check.
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

function check(ok, what) {
  if (!ok) {
    throw new Error("FAILED: " + what);
  }
}

async function visibleRows(page) {
  return page.locator("#req-table > tbody > tr:not([hidden])").count();
}

async function testPage(browser, p) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("file://" + p.file);
  await page.waitForSelector("html[data-js=ready]", { timeout: 10000 });

  // Expand a step, then its request headers: the Cookie header is there,
  // its value masked, the original value nowhere on the page.
  const row = page.locator("#step-" + p.cookie_step);
  await row.locator(":scope > summary").click();
  check(await row.evaluate((d) => d.open), p.name + ": step " + p.cookie_step + " opens");
  const headers = row.locator("details.req-headers");
  await headers.locator(":scope > summary").click();
  const cookieRow = headers.locator("tr", { has: page.locator("td:first-child", { hasText: /^cookie$/i }) });
  check((await cookieRow.count()) === 1, p.name + ": one Cookie header row");
  check(await cookieRow.isVisible(), p.name + ": the Cookie header row is visible once expanded");
  const cookieText = await cookieRow.innerText();
  check(cookieText.includes("[redacted]"), p.name + ": the cookie is masked: " + cookieText);
  check(!cookieText.includes(p.cookie_secret), p.name + ": the cookie's value is not shown");
  const html = await page.content();
  check(!html.includes(p.cookie_secret), p.name + ": the cookie's value is nowhere in the DOM");

  // Host lanes: one per host and one bar per request; pointing at a bar names
  // its request, clicking it opens the row that shows the request.
  const lanes = await page.locator("#lanes .lane").count();
  check(lanes === p.hosts, p.name + ": " + lanes + " host lanes, expected " + p.hosts);
  const bars = await page.locator("#lanes a.bar").count();
  check(bars === p.requests, p.name + ": " + bars + " bars, expected " + p.requests);
  for (const id of p.lane_bars) {
    const bar = page.locator('#lanes a.bar[data-step="' + id + '"]');
    // Bars of close requests overlap: events go to this bar, not to a point.
    await bar.dispatchEvent("mouseover");
    const info = await page.locator("#lane-info").innerText();
    check(info.startsWith("#" + id + " "), p.name + ": pointing at bar " + id + " shows " + info);
    await bar.evaluate((a) => a.click());
    const target = (await bar.getAttribute("href")).slice(1);
    const open = await page.evaluate((t) => {
      const el = document.getElementById(t);
      if (!el) return false;
      const d = el.tagName === "DETAILS" ? el : el.querySelector("details.inline") || el.closest("details");
      return !!d && d.open;
    }, target);
    check(open, p.name + ": clicking bar " + id + " opened " + target);
    check(page.url().endsWith("#" + target), p.name + ": clicking bar " + id + " moved to " + target);
  }
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));

  // Filter all requests by a host, then by text (a correlation id).
  const total = await visibleRows(page);
  check(total === p.requests, p.name + ": " + total + " rows, expected " + p.requests);
  await page.selectOption("#req-host", p.host);
  const byHost = await visibleRows(page);
  check(byHost === p.host_rows, p.name + ": host " + p.host + " shows " + byHost + ", expected " + p.host_rows);
  const hosts = await page.locator("#req-table > tbody > tr:not([hidden]) > td.host").allInnerTexts();
  check(hosts.every((h) => h === p.host), p.name + ": only rows of " + p.host);
  await page.selectOption("#req-host", "");
  await page.fill("#req-search", p.correlation_id);
  const found = await visibleRows(page);
  check(found >= p.correlation_rows, p.name + ": search finds " + found + " rows, expected at least " + p.correlation_rows);
  check(found < total, p.name + ": search narrows the table");
  await page.fill("#req-search", "");
  check((await visibleRows(page)) === total, p.name + ": clearing the search shows every row");
  // Sorting by status keeps every row.
  await page.click("#req-table th:nth-child(5)");
  check((await visibleRows(page)) === total, p.name + ": sorting keeps every row");

  // One arrow per hop; the failing ones red and saying so.
  for (const f of p.flows) {
    const svg = page.locator("#seq-" + f.id);
    const hops = await svg.locator("g.hop").count();
    check(hops === f.hops, p.name + ": flow " + f.id + " has " + hops + " arrows, expected " + f.hops);
    const failed = svg.locator("g.hop.failed");
    check((await failed.count()) === f.failed.length, p.name + ": flow " + f.id + " failed hops " + (await failed.count()) + ", expected " + f.failed.length);
    for (let i = 0; i < f.failed.length; i++) {
      const g = failed.nth(i);
      check((await g.getAttribute("data-target")) === f.failed[i], p.name + ": failed hop " + i + " is " + f.failed[i]);
      check((await g.locator("text").textContent()).includes("FAILED"), p.name + ": a failed hop says FAILED");
      const stroke = await g.locator("line").evaluate((l) => getComputedStyle(l).stroke);
      check(stroke === "rgb(198, 40, 40)", p.name + ": a failed hop is red, not " + stroke);
    }
  }

  // Following a finding's step link opens the row it lands on.
  const link = page.locator("article.finding a[href^='#step-']").first();
  if ((await link.count()) > 0) {
    const target = (await link.getAttribute("href")).slice(1);
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));
    await link.click();
    const open = await page.evaluate((id) => {
      const el = document.getElementById(id);
      return !!el && !!el.closest("details") && el.closest("details").open;
    }, target);
    check(open, p.name + ": the step link opened " + target);
    check(page.url().endsWith("#" + target), p.name + ": the link moved to " + target);
  }

  // Screenshots, and no horizontal cut-off at 900 px.
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));
  for (const width of [900, 1400]) {
    await page.setViewportSize({ width, height: 1000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const shot = path.join(plan.shots, p.name + "-" + width + ".png");
    await page.screenshot({ path: shot, fullPage: true });
    const overflow = await page.evaluate(() => {
      const marks = Array.from(document.querySelectorAll(".row > summary .marks, .band > summary .marks"));
      const right = Math.max(0, ...marks.map((m) => m.getBoundingClientRect().right));
      return { right, page: document.documentElement.scrollWidth, view: window.innerWidth };
    });
    check(overflow.right <= overflow.view, p.name + " at " + width + " px: the badge column ends at " + overflow.right);
    check(overflow.page <= overflow.view, p.name + " at " + width + " px: the page is " + overflow.page + " px wide");
    console.log("screenshot " + shot);
  }
  check(errors.length === 0, p.name + ": console errors: " + errors.join(" | "));
  await context.close();
  console.log("ok " + p.name);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: plan.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    for (const p of plan.pages) {
      await testPage(browser, p);
    }
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
