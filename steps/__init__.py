"""Step definitions for the Gherkin scenarios under features/, grouped by domain (see features/STEPS.md)."""
