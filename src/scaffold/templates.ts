// A template tree (templates/service, templates/features/...) turned into project files.
// The naming rules, the only ones, for every file under such a tree:
//   name.hbs   rendered with Handlebars, written as `name` (only files where something varies);
//   anything else is copied byte for byte;
//   _name      written as `.name`: dotfiles git, npm and docker would act on inside tsk's own repo;
//   __name__   in a path, the service name (cmd/__name__/main.ts -> cmd/greeter/main.ts).
// tsk's own tsc, vitest and biome never look under templates/ (see tsconfig.json, vitest.config.ts, biome.json).
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';

export interface TemplateFile {
  /** Relative to the tree's root, with `/` separators. */
  template: string;
  /** Where it lands in the project. */
  path: string;
}

/** Every file of a template tree with its project path, sorted by template path. */
export function templateTree(root: string, name: string): TemplateFile[] {
  const out: TemplateFile[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const template = path.relative(root, p).split(path.sep).join('/');
        out.push({ template, path: projectPath(template, name) });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => a.template.localeCompare(b.template));
}

/** Where a template lands in a project named `name`. */
export function projectPath(template: string, name: string): string {
  return template
    .replace(/\.hbs$/, '')
    .split('/')
    .map((part) => part.replaceAll('__name__', name).replace(/^_(?!_)/, '.'))
    .join('/');
}

/** A template's content: rendered when it is a `.hbs` file, else as it is. */
export function readTemplate(root: string, template: string, context: Record<string, unknown>): string {
  const text = fs.readFileSync(path.join(root, template), 'utf8');
  if (!template.endsWith('.hbs')) return text;
  return Handlebars.compile(text, { noEscape: true, strict: true })(context);
}
