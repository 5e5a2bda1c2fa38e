// The template naming rules (src/scaffold/templates.ts) and that templates/service follows them:
// Handlebars only where something varies.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectPath, readTemplate, templateTree } from '../../src/scaffold/templates.js';
import { templatesDir } from '../../src/proto/paths.js';

describe('template naming', () => {
  it('drops .hbs, turns a leading _ into a dot and puts the service name for __name__', () => {
    expect(projectPath('cmd/__name__/main.ts.hbs', 'shop')).toBe('cmd/shop/main.ts');
    expect(projectPath('api/__name__/v1/greeter.proto.hbs', 'shop')).toBe('api/shop/v1/greeter.proto');
    expect(projectPath('_gitignore', 'shop')).toBe('.gitignore');
    expect(projectPath('internal/data/data.ts', 'shop')).toBe('internal/data/data.ts');
  });

  it('copies plain files as they are and renders .hbs ones', () => {
    const root = path.join(templatesDir, 'service');
    expect(readTemplate(root, 'internal/data/data.ts', {})).toBe(
      fs.readFileSync(path.join(root, 'internal/data/data.ts'), 'utf8'),
    );
    expect(
      readTemplate(root, 'cmd/__name__/main.ts.hbs', { name: 'shop', envPrefix: 'SHOP_', nodeMajor: 24 }),
    ).toContain("export const NAME = 'shop';");
  });

  it('keeps Handlebars only in templates with a placeholder', () => {
    for (const t of templateTree(path.join(templatesDir, 'service'), 'x')) {
      const text = fs.readFileSync(path.join(templatesDir, 'service', t.template), 'utf8');
      expect(t.template.endsWith('.hbs'), t.template).toBe(text.includes('{{'));
    }
  });
});
