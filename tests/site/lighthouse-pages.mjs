// Lighthouse (mobile, default simulated throttling) on many pages with one Chrome.
//
//   CHROME_PATH=/usr/bin/chromium node lighthouse-pages.mjs FLAGS_JSON URL...
//
// FLAGS_JSON is the JSON list of Chrome's command-line flags. One line of JSON
// per page on stdout: the category scores, the audits that cost points, the
// bytes transferred and the seconds the run took. Starting Chrome and loading
// Lighthouse once for all pages (instead of once per page, as the CLI does)
// saves several seconds a page; Lighthouse resets the browser's storage and
// cache before each page, so every page is measured on a cold load.
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"];
const [flags, ...urls] = process.argv.slice(2);

function summary(url, lhr, seconds) {
  const scores = {};
  const failed = [];
  for (const [id, category] of Object.entries(lhr.categories)) {
    scores[id] = category.score;
    for (const ref of category.auditRefs) {
      const audit = lhr.audits[ref.id];
      if ((ref.weight || 0) > 0 && audit.score !== null && audit.score < 1) {
        const why = audit.errorMessage || audit.explanation;
        failed.push(`${ref.id} (${audit.score}${why ? `: ${why}` : ""})`);
      }
    }
  }
  return {
    url,
    scores,
    failed: [...new Set(failed)].sort(),
    transferred: lhr.audits["total-byte-weight"].numericValue,
    error: lhr.runtimeError ? lhr.runtimeError.message : null,
    seconds,
  };
}

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: JSON.parse(flags),
});
try {
  for (const url of urls) {
    const started = Date.now();
    const result = await lighthouse(url, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: CATEGORIES,
    });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(JSON.stringify(summary(url, result.lhr, seconds)) + "\n");
  }
} finally {
  await chrome.kill();
}
