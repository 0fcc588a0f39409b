// Allure Report 3 configuration for `cmg-harness run` (reports/html). The history file keeps one
// line per run so the report shows trends across runs on the same machine or CI cache.
import { defineConfig } from "allure";

export default defineConfig({
  name: "CMG Content Harness — acceptance",
  output: "reports/html",
  historyPath: "reports/history.jsonl",
  plugins: {
    awesome: {
      options: {
        reportName: "CMG Content Harness — acceptance",
        singleFile: false,
        reportLanguage: "en",
        groupBy: ["parentSuite", "suite", "subSuite"],
      },
    },
  },
});
