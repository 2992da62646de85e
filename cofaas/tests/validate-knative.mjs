// Validates Knative Services against the JSON schema of
// @kubernetes-models/knative (the generated ajv validators of
// knative.dev/serving's Go types; the pod spec part is kubernetes-models'
// core/v1 PodSpec schema).
//
//   node validate-knative.mjs <node_modules dir> <docs.json>
//
// docs.json holds a JSON array of objects (the YAML documents of one
// manifest). Each must be a serving.knative.dev/v1 Service; the script
// prints one line per document and exits non-zero on the first invalid one.
// The schema checks types, required properties (e.g. a container's name,
// a grpc probe's port), enums (apiVersion, kind) and formats; it does NOT
// reject unknown properties (no additionalProperties in the generated
// validators), which the Rust test checks with kubernetes-validate.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, docsPath] = process.argv.slice(2);
if (!nodeModules || !docsPath) {
  console.error("usage: validate-knative.mjs <node_modules dir> <docs.json>");
  process.exit(2);
}
const module = join(nodeModules, "@kubernetes-models/knative/serving.knative.dev/v1/Service.js");
const { Service } = await import(pathToFileURL(module).href);

const docs = JSON.parse(readFileSync(docsPath, "utf8"));
if (!Array.isArray(docs) || docs.length === 0) {
  console.error(`${docsPath}: no documents`);
  process.exit(1);
}
for (const [i, doc] of docs.entries()) {
  const where = `${docsPath} document ${i}`;
  if (doc?.apiVersion !== Service.apiVersion || doc?.kind !== Service.kind) {
    console.error(`${where}: not a ${Service.apiVersion} ${Service.kind}`);
    process.exit(1);
  }
  try {
    new Service(doc).validate();
  } catch (e) {
    console.error(`${where} (${doc.metadata?.name}): INVALID: ${e.message}`);
    process.exit(1);
  }
  console.log(`${where} (${doc.metadata?.name}): valid`);
}
