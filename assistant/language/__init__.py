"""The reports' language: grades, headings, front-page lines, intents (vocab) and the field's terms (glossary), with their data tables."""
