// Lighthouse 12.2.3 (mobile) on the candidate form and on its thank-you page (a POST's answer,
// reached by a user-triggered navigation in a flow). Usage: node lighthouse.mjs <form URL> <out dir>
// with lighthouse installed beside it (npm i -E lighthouse@12.2.3) and CHROME_PATH=/usr/bin/chromium.
import fs from "node:fs";
import puppeteer from "puppeteer-core";
import { startFlow } from "lighthouse";

const [url, out] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--headless=new"],
});
const page = await browser.newPage();
const config = { extends: "lighthouse:default", settings: { onlyCategories: ["accessibility", "best-practices"] } };
const flow = await startFlow(page, { config, name: "candidate form" });
await flow.navigate(url, { name: "form" });
await flow.navigate(async () => {
  await page.click("#nps-9");
  await page.click("#communication-3");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}, { name: "thank-you" });
const result = await flow.createFlowResult();
const scores = result.steps.map((step) => ({
  step: step.name,
  url: step.lhr.finalDisplayedUrl.replace(/\/f\/[^/?#]+/, "/f/[token]"),
  accessibility: Math.round(step.lhr.categories.accessibility.score * 100),
  "best-practices": Math.round(step.lhr.categories["best-practices"].score * 100),
  failed: Object.values(step.lhr.audits).filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode === "binary").map((a) => a.id),
}));
fs.writeFileSync(`${out}/lighthouse-scores.json`, JSON.stringify(scores, null, 2) + "\n");
console.log(JSON.stringify(scores, null, 2));
await browser.close();
