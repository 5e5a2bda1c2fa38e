// The one description of a file tsk produces, from generators, templates and the
// vendored runtime alike. Only src/cli/writer.ts puts these on disk.

/** Who a file belongs to: tsk regenerates `generated` and `runtime` files; `owned` ones are the user's once written. */
export type FileKind = 'generated' | 'runtime' | 'owned';

export interface GeneratedFile {
  /**
   * Where it goes, relative to the root it is written under (a generator's output
   * root, a project's root). Absolute only where one write spans several roots,
   * such as code generated next to protos in several import roots.
   */
  path: string;
  content: string;
  /** Default `generated`. */
  kind?: FileKind;
}
