// Allure Report 3 configuration for `cmg-harness run` (reports/html). Relative paths are from the
// reports folder (cmg-harness runs allure there); the history file keeps one line per run so the
// report shows trends across runs on the same machine or CI cache.
import { defineConfig } from "allure";

export default defineConfig({
  name: "CMG Content Harness — acceptance",
  output: "html",
  historyPath: "history.jsonl",
  plugins: {
    awesome: {
      options: {
        reportName: "CMG Content Harness — acceptance",
        singleFile: false,
        reportLanguage: "en",
        groupBy: ["feature"],
      },
    },
  },
});
