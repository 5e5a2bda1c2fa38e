// deploy/kubernetes/configmap.yaml mounts a copy of configs/config.yaml as data."config.yaml":
// what tsk changes in the config file it changes in that copy the same way, through here.
import { parseDocument, type Scalar } from 'yaml';

/** The config.yaml a ConfigMap mounts ('' when it has none). */
export function configMapConfig(configMapYaml: string): string {
  const value = parseDocument(configMapYaml).getIn(['data', 'config.yaml']);
  return typeof value === 'string' ? value : '';
}

/**
 * The ConfigMap with its config.yaml rewritten by `edit`, comments and other keys kept,
 * and its text as it was when `edit` changes nothing; undefined when it mounts no config.yaml.
 */
export function editConfigMapConfig(configMapYaml: string, edit: (configYaml: string) => string): string | undefined {
  const doc = parseDocument(configMapYaml);
  const node = doc.getIn(['data', 'config.yaml'], true) as Scalar | undefined;
  if (!node || typeof node.value !== 'string') return undefined;
  const next = edit(node.value);
  if (next === node.value) return configMapYaml;
  node.value = next;
  return doc.toString({ flowCollectionPadding: false });
}
