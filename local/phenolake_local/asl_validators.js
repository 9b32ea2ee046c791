// Runs AWS's Amazon States Language validators on rendered definitions, for validate.py.
// Usage: node asl_validators.js <definition.json>...  Prints one JSON object:
// {"<path>": {"asl-validator": [problem...], "amazon-states-language-service": [problem...]}}
// Both packages are pinned in package.json and installed by `make node-tools` (npm ci).
"use strict";

const fs = require("fs");
const aslValidator = require("asl-validator");
const {
  getLanguageService,
  TextDocument,
  DiagnosticSeverity,
} = require("amazon-states-language-service");

const service = getLanguageService({});

async function languageService(text) {
  const document = TextDocument.create("file:///definition.asl.json", "json", 0, text);
  const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
  return diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning)
    .map((d) => {
      const where = `line ${d.range.start.line + 1}:${d.range.start.character + 1}`;
      return `${where}: ${d.message} (${d.code ?? "ASL"})`;
    });
}

function validator(definition) {
  const { isValid, errors } = aslValidator(definition);
  if (isValid) {
    return [];
  }
  // Schema errors come from ajv ({instancePath, message}); semantic ones as {"Error code", Message}.
  return errors.map((e) => {
    const code = e["Error code"] ? `${e["Error code"]}: ` : "";
    const where = e.instancePath ? ` (at ${e.instancePath})` : "";
    return `${code}${e.Message ?? e.message}${where}`;
  });
}

async function main() {
  const report = {};
  for (const path of process.argv.slice(2)) {
    const text = fs.readFileSync(path, "utf8");
    report[path] = {
      "asl-validator": validator(JSON.parse(text)),
      "amazon-states-language-service": await languageService(text),
    };
  }
  process.stdout.write(JSON.stringify(report));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(2);
});
