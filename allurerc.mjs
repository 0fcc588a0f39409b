// Allure Report 3 configuration for `cmg-harness run` (reports/html). Relative paths are from the
// reports folder (cmg-harness runs allure there); the history file keeps one line per run so the
// report shows trends across runs on the same machine or CI cache. Results of several environments
// (cmg-harness run --env … --append) are split by their `environment` label and compared test by test.
import { defineConfig } from "allure";

const inEnvironment = (name) => ({ labels }) =>
  labels.some((label) => label.name === "environment" && label.value === name);

export default defineConfig({
  name: "CMG Content Harness — acceptance",
  output: "html",
  historyPath: "history.jsonl",
  environments: {
    local: { name: "local (processes)", matcher: inEnvironment("local") },
    containers: { name: "containers", matcher: inEnvironment("containers") },
    external: { name: "external", matcher: inEnvironment("external") },
  },
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
