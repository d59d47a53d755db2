import { load, loadAll, type LoadOptions } from 'js-yaml';

/**
 * Parses one YAML document, or gives undefined for a text with none (empty, or comments only):
 * js-yaml 5's `load` throws there, where 4 returned undefined and our readers take it as "nothing
 * set". Throws js-yaml's YAMLException for invalid YAML and for more than one document.
 */
export function loadYamlDocument(text: string, options?: LoadOptions): unknown {
  // One parse in the usual case; `load` again only to raise its error for several documents.
  const documents = loadAll(text, options);
  return documents.length <= 1 ? documents[0] : load(text, options);
}
