"""Reports: Allure attachments, the run summary (summary.json), and the Allure HTML build."""
